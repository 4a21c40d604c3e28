"""`sdsync send`, `send-whatsapp`, `reply` and `whatsapp template create`: campaigns from SQL and single sends.

Campaigns are planned into a ledger (the shared state's PostgreSQL when `state_url` is set, else
`<data_dir>/campaigns.sqlite`) before the first call and sent exactly once per recipient: rerun the same
command after any interruption, on this machine or another sharing the state, to finish it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, List, Optional

import typer

from smartdialog_sync.constants import BUTTON_TYPES
from smartdialog_sync.errors import UsageError

from ..runtime import console, open_client, settings_from, stdout

if TYPE_CHECKING:
    from smartdialog_sync.destinations.campaigns.request import CampaignRequest

    from smartdialog_sync.api import models

app = typer.Typer()
whatsapp_app = typer.Typer(help="WhatsApp actions.", no_args_is_help=True)
template_app = typer.Typer(help="WhatsApp templates.", no_args_is_help=True)
whatsapp_app.add_typer(template_app, name="template")
app.add_typer(whatsapp_app, name="whatsapp")

BUTTON_DATA_MAX = {"Url": 2000, "Call": 20, "QuickReply": 20}
TEMPLATE_OPTIONS = {"display_name": "--name", "raw_content": "--content", "category": "--category",
                    "language": "--language", "buttons": "--button", "attachment_url": "--attachment-url"}

SOURCE_OPTION = typer.Option(..., "--source", help="SQLAlchemy URL of the CRM: postgresql://, sqlite:///, duckdb:///")
QUERY_OPTION = typer.Option(..., "--query", help="SELECT returning a phone column and the columns the message uses.")
CUSTOMER_OPTION = typer.Option(..., "--customer", "-c", help="Customer id.")
SERVICE_OPTION = typer.Option(..., "--service", "-s", help="Service id to send with.")
PHONE_COLUMN_OPTION = typer.Option("phone", "--phone-column", help="Column holding the phone numbers.")
REGION_COLUMN_OPTION = typer.Option(None, "--region-column", help="Column with each row's phone region (FI, SE, ...).")
CAMPAIGN_OPTION = typer.Option(None, "--campaign", help="Campaign id; derived from the command when left out.")
AT_OPTION = typer.Option(None, "--at", help="Send time, ISO 8601 (naive = UTC); now when left out. With --local-time: the date.")
LOCAL_TIME_OPTION = typer.Option(
    None, "--local-time", help="HH:MM: send at this time in each recipient's zone, on the date of --at or its next occurrence."
)
QUIET_HOURS_OPTION = typer.Option(
    None, "--quiet-hours", help="HH:MM-HH:MM local time nothing is sent in (moved to its end); default [campaigns] quiet_hours; off."
)
TIMEZONE_COLUMN_OPTION = typer.Option(None, "--timezone-column", help="Column with each row's IANA time zone (else from the number).")
DLR_OPTION = typer.Option(None, "--dlr-url", help="Delivery report callback URL.")
CUSTOMER_DATA_OPTION = typer.Option(None, "--customer-data", help="Billing/grouping data, at most 255 characters.")
SUPPRESSION_OPTION = typer.Option(
    None, "--suppression-query", help="SELECT on --source returning numbers never to send to (its phone column or first column)."
)
DRY_RUN_OPTION = typer.Option(False, "--dry-run", help="Show the plan and estimates; send and write nothing.")
YES_OPTION = typer.Option(False, "--yes", "-y", help="Send without asking for confirmation.")
LEDGER_OPTION = typer.Option(
    None, "--ledger", help="Campaign ledger: a SQLite path, sqlite:/// or postgresql:// URL "
    "(default the state_url, else <data_dir>/campaigns.sqlite)."
)
WAIT_OPTION = typer.Option(False, "--wait", help="If another run (on any machine) is sending this campaign, wait for it.")
BATCH_OPTION = typer.Option(None, "--batch-size", help="Recipients per call, 1-1000 (default [campaigns] batch_size or 1000).")
WORKERS_OPTION = typer.Option(2, "--workers", min=1, max=8, help="Calls in flight at once (the rate limit still applies).")
HOLDOUT_OPTION = typer.Option(
    None, "--holdout", help="Share of the recipients not sent to, e.g. 10%: chosen by a hash of campaign id and "
    "number (the same on every rerun), recorded in the ledger as held out to measure uplift."
)
PURPOSE_OPTION = typer.Option(
    "marketing", "--purpose", help="marketing (honours opt-outs and frequency caps) or transactional (an order update: "
    "skips the caps and is not counted against them)."
)
FREQUENCY_CAP_OPTION = typer.Option(
    None, "--frequency-cap", help="N/PERIOD, e.g. 2/7d: leave out recipients who got N marketing messages in the rolling "
    "period (all campaigns of the customer in the ledger); default [campaigns] frequency_cap; off."
)
IGNORE_OPT_OUTS_OPTION = typer.Option(
    False, "--ignore-opt-outs", help="Send to opted-out numbers too (only with --purpose transactional)."
)
SPREAD_OPTION = typer.Option(
    None, "--spread", help="DURATION, e.g. 2h: schedule the batches evenly over this window (per local time with --local-time)."
)
SEND_RATE_OPTION = typer.Option(None, "--send-rate", help="N/PERIOD, e.g. 5000/h: schedule the batches at this many recipients per period.")
PROOF_TO_OPTION = typer.Option(
    None, "--proof-to", help="Comma-separated numbers that get the first message before the campaign; then it asks to go on."
)
OPT_OUTS_URL_OPTION = typer.Option(
    None, "--opt-outs-url", help="SQLAlchemy URL of the pulled dataset to read opt-outs from, besides the "
    "state's journal (default [campaigns] opt_outs_url, else where `sdsync pull` loaded)."
)


def _run(ctx: typer.Context, request: CampaignRequest, ledger: Optional[str], dry_run: bool, yes: bool, workers: int,
         opt_outs_url: Optional[str], wait: bool) -> None:
    """Plan (or resume) the campaign, show it, confirm and send it exactly once per recipient."""
    from smartdialog_sync.destinations.campaigns.run import run_campaign
    from smartdialog_sync.pipelines.alerts import alerting
    from smartdialog_sync.pipelines.alerts.outcomes import campaign_outcome

    from ..progress.campaign import campaign_progress

    looks_up = settings_from(ctx) if request.kind == "whatsapp" else None  # a WhatsApp request reads its templates
    spec, settings, proofs = request.resolve(looks_up, note=_note)  # bad options exit 2 before settings are needed
    client_settings = looks_up or settings_from(ctx)
    with alerting(client_settings, "campaign", spec.resolved_campaign_id(), dry_run=dry_run) as watch:
        with campaign_progress(yes) as progress:
            result = run_campaign(client_settings, spec, settings, ledger=ledger, dry_run=dry_run, workers=workers,
                                  progress=progress, opt_outs_url=opt_outs_url, wait=wait, proof_to=proofs)
        watch.outcome = campaign_outcome(result)
    if dry_run:
        if result.plan is not None:
            stdout.print("Dry run: nothing sent, nothing written.")
        return
    if result.ran:
        stdout.print(result.summary(), markup=False, highlight=False)


def _note(text: str) -> None:
    console.print(text, markup=False, highlight=False)


@app.command("send", short_help="Send an SMS to every recipient of a SQL query, once.")
def send(
    ctx: typer.Context,
    source: str = SOURCE_OPTION,
    query: str = QUERY_OPTION,
    customer: str = CUSTOMER_OPTION,
    service: str = SERVICE_OPTION,
    sender: str = typer.Option(..., "--sender", help="Sender name or number."),
    content: Optional[str] = typer.Option(
        None, "--content", help="Message text; {{column}} is replaced per recipient, {{link:URL}} by a tracked short link. "
        "Required unless --variant is given."),
    variant: Optional[List[str]] = typer.Option(
        None, "--variant", help="A/B variant instead of --content: LABEL=TEXT or LABEL:WEIGHT=TEXT, repeatable "
        "(label: letter, then up to 15 letters, digits, _; weights on all or none)."),
    holdout: Optional[str] = HOLDOUT_OPTION,
    track_links: bool = typer.Option(False, "--track-links", help="Track every http(s) URL of the content as {{link:URL}}."),
    link_base_url: Optional[str] = typer.Option(
        None, "--link-base-url", help="Public URL of `sdsync serve` that short links start with (default [receiver] public_url)."
    ),
    phone_column: str = PHONE_COLUMN_OPTION,
    region_column: Optional[str] = REGION_COLUMN_OPTION,
    timezone_column: Optional[str] = TIMEZONE_COLUMN_OPTION,
    campaign: Optional[str] = CAMPAIGN_OPTION,
    at: Optional[str] = AT_OPTION,
    local_time: Optional[str] = LOCAL_TIME_OPTION,
    quiet_hours: Optional[str] = QUIET_HOURS_OPTION,
    dlr_url: Optional[str] = DLR_OPTION,
    customer_data: Optional[str] = CUSTOMER_DATA_OPTION,
    ad: Optional[bool] = typer.Option(None, "--ad/--no-ad", help="Mark the message as an ad message (default: yes for --purpose marketing)."),
    suppression_query: Optional[str] = SUPPRESSION_OPTION,
    max_parts: Optional[int] = typer.Option(None, "--max-parts", help="Most SMS parts a recipient may get (default 10)."),
    gsm_safe: bool = typer.Option(
        False, "--gsm-safe", help="Replace characters with a GSM-7 look-alike (curly quotes, dashes, no-break spaces, ...) "
        "in --content (or each --variant), so the SMS is not UCS-2 because of them; the plan names them and the parts saved."
    ),
    batch_size: Optional[int] = BATCH_OPTION,
    workers: int = WORKERS_OPTION,
    purpose: str = PURPOSE_OPTION,
    frequency_cap: Optional[str] = FREQUENCY_CAP_OPTION,
    ignore_opt_outs: bool = IGNORE_OPT_OUTS_OPTION,
    spread: Optional[str] = SPREAD_OPTION,
    send_rate: Optional[str] = SEND_RATE_OPTION,
    proof_to: Optional[str] = PROOF_TO_OPTION,
    opt_outs_url: Optional[str] = OPT_OUTS_URL_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
    yes: bool = YES_OPTION,
    ledger: Optional[str] = LEDGER_OPTION,
    wait: bool = WAIT_OPTION,
) -> None:
    """Send a personalised SMS to every recipient of a SQL query, exactly once."""
    from smartdialog_sync.destinations.campaigns.request import CampaignRequest, Source

    request = CampaignRequest(
        "sms", customer, service, Source(source, query, phone_column, region_column, suppression_query, timezone_column),
        campaign_id=campaign, variants=tuple(variant or ()), holdout=holdout, dlr_url=dlr_url,
        customer_data=customer_data, at=at, local_time=local_time, quiet_hours=quiet_hours, purpose=purpose,
        frequency_cap=frequency_cap, ignore_opt_outs=ignore_opt_outs, spread=spread, send_rate=send_rate,
        batch_size=batch_size, proof_to=proof_to,
        sender=sender, content=content, gsm_safe=gsm_safe, ad=ad, max_parts=max_parts, track_links=track_links,
        link_base_url=link_base_url,
    )
    _run(ctx, request, ledger, dry_run, yes, workers, opt_outs_url, wait)


def _columns(text: Optional[str]) -> tuple[str, ...]:
    return tuple(name.strip() for name in (text or "").split(",") if name.strip())


def _button_type(text: str, option: str) -> str:
    for name in BUTTON_TYPES:
        if name.lower() == text.strip().lower():
            return name
    raise UsageError(f"{option}: button type {text!r} must be one of {', '.join(BUTTON_TYPES)}")


def parse_send_button(text: str) -> tuple[str, str]:
    """Parse --buttons TYPE:DATA into (type, data)."""
    kind, sep, data = text.partition(":")
    if not sep or not data:
        raise UsageError(f"--buttons {text!r} must look like TYPE:DATA, e.g. QuickReply:Yes")
    return _button_type(kind, "--buttons"), data


def parse_template_button(text: str) -> models.TemplateButton:
    """Parse --button TYPE:LABEL:DATA, checking the data length the API allows per type."""
    from smartdialog_sync.api import models

    pieces = text.split(":", 2)
    if len(pieces) != 3 or not all(pieces):
        raise UsageError(f"--button {text!r} must look like TYPE:LABEL:DATA, e.g. Url:Open:https://example.com")
    kind = _button_type(pieces[0], "--button")
    if len(pieces[2]) > BUTTON_DATA_MAX[kind]:
        raise UsageError(f"--button {kind} data is {len(pieces[2])} characters; the API allows {BUTTON_DATA_MAX[kind]}")
    return models.TemplateButton(type=kind, label=pieces[1], data=pieces[2])


@app.command("send-whatsapp", short_help="Send a WhatsApp template to every recipient of a query.")
def send_whatsapp(
    ctx: typer.Context,
    source: str = SOURCE_OPTION,
    query: str = QUERY_OPTION,
    customer: str = CUSTOMER_OPTION,
    service: str = SERVICE_OPTION,
    template: Optional[str] = typer.Option(
        None, "--template", help="Template name (display name) or id. Required unless --variant is given."),
    variant: Optional[List[str]] = typer.Option(
        None, "--variant", help="A/B variant instead of --template: LABEL=TEMPLATE or LABEL:WEIGHT=TEMPLATE (name or id), "
        "repeatable; every template takes the same --body-params."),
    holdout: Optional[str] = HOLDOUT_OPTION,
    body_params: Optional[str] = typer.Option(None, "--body-params", help="Comma-separated columns for {{1}}, {{2}}, ..."),
    header_params: Optional[str] = typer.Option(None, "--header-params", help="Comma-separated columns for the header."),
    buttons: Optional[List[str]] = typer.Option(None, "--buttons", help="TYPE:DATA, repeatable (Call, QuickReply, Url)."),
    attachment_uri: Optional[str] = typer.Option(None, "--attachment-uri", help="Attachment URI, if the template has one."),
    sms_fallback: bool = typer.Option(False, "--sms-fallback", help="Fall back to SMS where WhatsApp fails."),
    phone_column: str = PHONE_COLUMN_OPTION,
    region_column: Optional[str] = REGION_COLUMN_OPTION,
    timezone_column: Optional[str] = TIMEZONE_COLUMN_OPTION,
    campaign: Optional[str] = CAMPAIGN_OPTION,
    at: Optional[str] = AT_OPTION,
    local_time: Optional[str] = LOCAL_TIME_OPTION,
    quiet_hours: Optional[str] = QUIET_HOURS_OPTION,
    dlr_url: Optional[str] = DLR_OPTION,
    customer_data: Optional[str] = CUSTOMER_DATA_OPTION,
    suppression_query: Optional[str] = SUPPRESSION_OPTION,
    batch_size: Optional[int] = BATCH_OPTION,
    workers: int = WORKERS_OPTION,
    purpose: str = PURPOSE_OPTION,
    frequency_cap: Optional[str] = FREQUENCY_CAP_OPTION,
    ignore_opt_outs: bool = IGNORE_OPT_OUTS_OPTION,
    spread: Optional[str] = SPREAD_OPTION,
    send_rate: Optional[str] = SEND_RATE_OPTION,
    proof_to: Optional[str] = PROOF_TO_OPTION,
    opt_outs_url: Optional[str] = OPT_OUTS_URL_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
    yes: bool = YES_OPTION,
    ledger: Optional[str] = LEDGER_OPTION,
    wait: bool = WAIT_OPTION,
) -> None:
    """Send a WhatsApp template to every recipient of a SQL query, one call per parameter set and batch."""
    from smartdialog_sync.destinations.campaigns.request import CampaignRequest, Source

    request = CampaignRequest(
        "whatsapp", customer, service, Source(source, query, phone_column, region_column, suppression_query, timezone_column),
        campaign_id=campaign, variants=tuple(variant or ()), holdout=holdout, dlr_url=dlr_url,
        customer_data=customer_data, at=at, local_time=local_time, quiet_hours=quiet_hours, purpose=purpose,
        frequency_cap=frequency_cap, ignore_opt_outs=ignore_opt_outs, spread=spread, send_rate=send_rate,
        batch_size=batch_size, proof_to=proof_to,
        template=template,
        body_columns=_columns(body_params), header_columns=_columns(header_params),
        buttons=tuple(parse_send_button(text) for text in buttons or []), attachment_uri=attachment_uri,
        sms_fallback=sms_fallback,
    )
    _run(ctx, request, ledger, dry_run, yes, workers, opt_outs_url, wait)


def _print_result(result: models.SendResult) -> None:
    stdout.print_json(json.dumps(result.model_dump(exclude_none=True)))


@app.command("reply", short_help="Reply to a message or into a discussion thread, once.")
def reply(
    ctx: typer.Context,
    customer: str = CUSTOMER_OPTION,
    content: str = typer.Option(..., "--content", help="Reply text."),
    parent_message_id: Optional[str] = typer.Option(None, "--parent-message-id", help="Message to reply to (SendReplyMessage)."),
    service: Optional[str] = typer.Option(None, "--service", "-s", help="Two-way service (with --parent-message-id)."),
    sender: Optional[str] = typer.Option(None, "--sender", help="Sender (with --parent-message-id)."),
    to: Optional[List[str]] = typer.Option(None, "--to", help="Recipient phone, repeatable (with --parent-message-id)."),
    thread_id: Optional[str] = typer.Option(None, "--thread-id", help="Discussion thread to reply into."),
    customer_data: Optional[str] = CUSTOMER_DATA_OPTION,
    request_id: Optional[str] = typer.Option(
        None, "--request-id", help="The reply's id, sent at most once (the RequestId of a --parent-message-id reply); "
        "derived from the reply by default."
    ),
) -> None:
    """Reply to a message (--parent-message-id) or into a discussion thread (--thread-id), at most once.

    Each reply id is recorded in the state before the call and after it: a rerun never sends it twice,
    and a reply whose call got no answer is reported uncertain (exit 1) instead of being sent again.
    """
    from smartdialog_sync.destinations.campaigns.replies import Reply, send_reply

    wanted = Reply.of_options(customer, content, parent_message_id=parent_message_id, service_id=service, sender=sender,
                              to=tuple(to or ()), thread_id=thread_id, customer_data=customer_data,
                              request_id=request_id)
    outcome = send_reply(settings_from(ctx), wanted)
    if outcome.result is None:
        console.print(f"Already sent (reply {outcome.reply_id}, message {outcome.message_id or 'unknown'}): nothing sent now.",
                      markup=False)
        return
    _print_result(outcome.result)


@app.command("settle-batch", short_help="Settle batches left in flight: sent, or not sent (resent by the next run).")
def settle_batch(
    ctx: typer.Context,
    campaign: str = typer.Option(..., "--campaign", help="Campaign id."),
    outcome: str = typer.Option(..., "--as", metavar="sent|not-sent",
                                help="What the delivery reports show: sent (recorded as sent) or not-sent (sent by the next run)."),
    batch: Optional[List[int]] = typer.Option(None, "--batch", help="Batch number, repeatable; default every batch in flight."),
    ledger: Optional[str] = LEDGER_OPTION,
) -> None:
    """Settle the campaign's batches left in flight, after checking their delivery reports.

    A batch whose call got no answer is repeated with its RequestId, which the service remembers about 7 days;
    after that a repeat could send twice, so the run refuses until the batch is settled here.
    """
    from smartdialog_sync.destinations.campaigns.settle import settle_in_flight

    settled = settle_in_flight(settings_from(ctx), campaign, outcome, tuple(batch or ()), ledger)
    then = "recorded as sent" if outcome == "sent" else "planned again: the next run of the campaign sends them"
    stdout.print(f"Settled batch(es) {', '.join(map(str, settled))} of campaign {campaign}: {then}.", markup=False)


@template_app.command("create")
def template_create(
    ctx: typer.Context,
    customer: str = CUSTOMER_OPTION,
    identity: str = typer.Option(..., "--identity", help="WhatsApp identity number of the template."),
    name: str = typer.Option(..., "--name", help="Display name (at most 100 characters)."),
    category: str = typer.Option(..., "--category", help="Template category (see `sdsync api categories`)."),
    language: str = typer.Option(..., "--language", help="Two-letter language code, e.g. en."),
    content: str = typer.Option(..., "--content", help="Template text; {{1}}, {{2}} for parameters."),
    button: Optional[List[str]] = typer.Option(None, "--button", help="Button as Type:Label:Data, repeatable (e.g. Url:Open:https://example.com)."),
    attachment_url: Optional[str] = typer.Option(None, "--attachment-url", help="URL of an example attachment."),
) -> None:
    """Submit a new WhatsApp template for an identity."""
    from pydantic import ValidationError

    from smartdialog_sync.api import models

    buttons = [parse_template_button(text) for text in button or []]
    try:
        request = models.CreateWhatsAppTemplateRequest(
            display_name=name, raw_content=content, category=category, language=language,
            buttons=buttons or None, attachment_url=attachment_url,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{TEMPLATE_OPTIONS.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors())
        raise UsageError(problems) from None
    with open_client(ctx) as api:
        categories = api.get_whatsapp_template_categories()
        if categories and category not in categories:
            raise UsageError(f"unknown category {category!r}; the service has: {', '.join(categories)}")
        identities = api.get_customer_whatsapp_identities(customer)
        if identity not in identities:
            raise UsageError(f"unknown identity {identity!r}; the customer has: {', '.join(identities) or 'none'}")
        api.create_whatsapp_template(customer, identity, request)
    stdout.print(f"Template {name!r} submitted for {identity}.", markup=False)
