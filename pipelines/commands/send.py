"""`sdsync send`, `send-whatsapp`, `reply` and `whatsapp template create`: campaigns from SQL and single sends.

Campaigns are planned into a ledger (default `<data_dir>/campaigns.sqlite`) before the first call and
sent exactly once per recipient: rerun the same command after any interruption to finish it.
"""

from __future__ import annotations

import gc
import hashlib
import json
from pathlib import Path
from typing import List, Optional

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from smartdialog_sync.destinations.campaigns.campaign import (
    CampaignSpec,
    Plan,
    Source,
    check_common_fields,
    check_existing,
    check_future,
    check_template_parameters,
    parse_send_time,
    plan_campaign,
    resolve_template,
)
from smartdialog_sync.destinations.campaigns.config import LEDGER_FILE, CampaignSettings, resolve_campaign_settings
from smartdialog_sync.destinations.campaigns.errors import CampaignError, CampaignInputError, SendStopped
from smartdialog_sync.destinations.campaigns.ledger import CampaignRecord, Ledger
from smartdialog_sync.destinations.campaigns.planner import estimate
from smartdialog_sync.destinations.campaigns.sender import CampaignSender, RunOutcome
from smartdialog_sync.api import ClientSettings, SmartDialogClient, errors, models
from smartdialog_sync.phones import InvalidPhoneNumber, normalize_phone
from smartdialog_sync.constants import BUTTON_TYPES
from smartdialog_sync.errors import SdsyncError

from ..runtime import EXIT_FAILURE, EXIT_USAGE, console, open_client, settings_from, stdout

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
AT_OPTION = typer.Option(None, "--at", help="Send time, ISO 8601 (naive = UTC); now when left out.")
DLR_OPTION = typer.Option(None, "--dlr-url", help="Delivery report callback URL.")
CUSTOMER_DATA_OPTION = typer.Option(None, "--customer-data", help="Billing/grouping data, at most 255 characters.")
SUPPRESSION_OPTION = typer.Option(
    None, "--suppression-query", help="SELECT on --source returning numbers never to send to (its phone column or first column)."
)
DRY_RUN_OPTION = typer.Option(False, "--dry-run", help="Show the plan and estimates; send and write nothing.")
YES_OPTION = typer.Option(False, "--yes", "-y", help="Send without asking for confirmation.")
LEDGER_OPTION = typer.Option(None, "--ledger", help="Ledger file (SQLite); default <data_dir>/campaigns.sqlite.")
BATCH_OPTION = typer.Option(None, "--batch-size", help="Recipients per call, 1-1000 (default [campaigns] batch_size or 1000).")
WORKERS_OPTION = typer.Option(2, "--workers", min=1, max=8, help="Calls in flight at once (the rate limit still applies).")
OPT_OUTS_URL_OPTION = typer.Option(
    None, "--opt-outs-url", help="SQLAlchemy URL of the pulled dataset to read opt-outs from "
    "(default [campaigns] opt_outs_url, else where `sdsync pull` loaded)."
)


def _fail(exc: Exception, code: int) -> typer.Exit:
    console.print(f"[red]{'error' if code == EXIT_USAGE else 'failed'}:[/red] ", end="")
    console.print(str(exc), markup=False, highlight=False, soft_wrap=True)  # may quote servers, CRMs and settings
    return typer.Exit(code)


def _confirm(question: str) -> None:
    """Ask for confirmation; without an answer (no stdin) the send is refused with exit 2."""
    try:
        confirmed = typer.confirm(question, default=False, err=True)
    except typer.Abort:
        raise _fail(CampaignInputError("not confirmed (no input); pass --yes to send without asking"), EXIT_USAGE) from None
    if not confirmed:
        console.print("Not sent.")
        raise typer.Exit(EXIT_USAGE)


def _show_plan(plan: Plan, client_settings: ClientSettings, settings: CampaignSettings) -> None:
    record = plan.record
    limit = client_settings.rate_limit
    content = record.message.get("content") if record.kind == "sms" else None
    figures = estimate(plan.batches, content, limit.calls, limit.seconds)
    rejected = plan.recipients.rejected_by_reason()
    stdout.print(f"[bold]Campaign {escape(record.campaign_id)}[/bold] ({record.kind}) for customer {escape(record.customer_id)}, "
                 f"service {escape(record.service_id)}")
    stdout.print(f"  recipients: {figures.recipients:,}")
    left_out = ", ".join(f"{reason} {count:,}" for reason, count in sorted(rejected.items())) or "none"
    stdout.print(f"  left out: {sum(rejected.values()):,} ({left_out})")
    for line in plan.suppression_sources:
        stdout.print(f"  suppression: {line}", markup=False)
    if figures.total_parts is not None:
        per_recipient = ", ".join(f"{parts} part(s) × {count:,}" for parts, count in figures.parts_histogram.items())
        encodings = ", ".join(f"{name} {count:,}" for name, count in sorted(figures.encodings.items()))
        stdout.print(f"  SMS parts: {figures.total_parts:,} in total ({encodings}); per recipient: {per_recipient}")
    stdout.print(
        f"  API calls: {figures.calls:,} (up to {settings.batch_size} recipients each) instead of {figures.recipients:,}; "
        f"at least {figures.seconds:,.0f} s under the rate limit {limit}"
    )


def _show_outcome(ledger: Ledger, campaign_id: str, outcome: RunOutcome) -> None:
    counts = ledger.status_counts(campaign_id)
    summary = ", ".join(f"{state} {batches} batch(es)/{recipients:,} recipient(s)" for state, (batches, recipients) in sorted(counts.items()))
    stdout.print(
        f"This run: {outcome.sent_batches} batch(es) confirmed ({outcome.sent_recipients:,} recipients, "
        f"{outcome.duplicates} recognised as sent before). Ledger: {summary}"
    )


def _plan(spec: CampaignSpec, settings: CampaignSettings, client_settings: ClientSettings, opt_outs_url: Optional[str]) -> Plan:
    from smartdialog_sync.destinations.campaigns.suppression import opt_out_sources

    data_dir = client_settings.data_dir
    with console.status("Reading recipients, opt-outs and planning batches ..."):
        return plan_campaign(spec, settings, opt_out_sources(data_dir, settings.opt_out_path(data_dir), opt_outs_url))


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def _send(ledger: Ledger, plan_record: CampaignRecord, client_settings: ClientSettings, workers: int) -> None:
    """Send every unsent batch of the campaign with a progress bar; exit 1 if the run stopped early."""
    campaign_id = plan_record.campaign_id
    unsent = ledger.unsent_batches(campaign_id)
    gc.collect()
    gc.freeze()  # the many long-lived objects of planning stay out of every later collection: steadier calls
    total = sum(len(item.batch.recipients) for item in unsent)
    with _progress_bar() as progress:
        task = progress.add_task(f"sending {campaign_id}", total=total)

        def on_wait(seconds: float, reason: str) -> None:
            progress.update(task, description=f"sending {campaign_id} (waiting {seconds:.1f}s: {reason})")

        with SmartDialogClient(client_settings, on_wait=on_wait) as api:
            sender = CampaignSender(
                api, ledger, plan_record, workers,
                on_batch_done=lambda batch: progress.update(task, advance=len(batch.recipients), description=f"sending {campaign_id}"),
            )
            outcome = sender.run(unsent)
    _show_outcome(ledger, campaign_id, outcome)
    if outcome.stopped:
        raise _fail(SendStopped(f"{outcome.stopped}. Run the same command again to finish the campaign."), EXIT_FAILURE)


def _run_campaign(
    ctx: typer.Context,
    spec: CampaignSpec,
    settings: CampaignSettings,
    ledger_path: Optional[Path],
    dry_run: bool,
    yes: bool,
    workers: int,
    opt_outs_url: Optional[str],
) -> None:
    """Plan (or resume) a campaign, show it, confirm and send it exactly once per recipient."""
    try:
        client_settings = settings_from(ctx)
        ledger_file = ledger_path or client_settings.data_dir / LEDGER_FILE
        campaign_id = spec.resolved_campaign_id()
        if dry_run and not ledger_file.exists():
            _show_plan(_plan(spec, settings, client_settings, opt_outs_url), client_settings, settings)
            stdout.print("Dry run: nothing sent, nothing written.")
            return
        ledger = Ledger.open(ledger_file)
        try:
            with ledger.campaign_lock(campaign_id):
                record = _plan_or_resume(ledger, spec, settings, client_settings, dry_run, yes, opt_outs_url)
                if record is not None:
                    _send(ledger, record, client_settings, workers)
        finally:
            ledger.close()
    except SdsyncError as exc:  # campaign errors, and the CRM query refused or unreadable
        raise _fail(exc, exc.exit_code) from None


def _plan_or_resume(
    ledger: Ledger, spec: CampaignSpec, settings: CampaignSettings, client_settings: ClientSettings, dry_run: bool, yes: bool,
    opt_outs_url: Optional[str],
) -> CampaignRecord | None:
    """The campaign to send: planned now and written to the ledger, or resumed from it. None: nothing to send."""
    campaign_id = spec.resolved_campaign_id()
    existing = ledger.campaign(campaign_id)
    check_existing(spec, existing)
    if existing is None:
        check_future(spec.message.get("send_date_time"))
        plan = _plan(spec, settings, client_settings, opt_outs_url)
        _show_plan(plan, client_settings, settings)
        if dry_run:
            stdout.print("Dry run: nothing sent, nothing written.")
            return None
        if not yes:
            _confirm(f"Send to {len(plan.recipients.recipients):,} recipients in {len(plan.batches):,} call(s)?")
        ledger.create_campaign(plan.record, plan.batches, plan.recipients.rejected)
        return plan.record
    counts = ledger.status_counts(campaign_id)
    left = {state: value for state, value in counts.items() if state != "sent"}
    stdout.print(
        f"Campaign {campaign_id} (planned {existing.created_at}): "
        + ", ".join(f"{state} {b} batch(es)/{r:,} recipient(s)" for state, (b, r) in sorted(counts.items())),
        markup=False,
    )
    if not left:
        stdout.print("Every batch is confirmed sent; nothing to do.")
        return None
    if dry_run:
        stdout.print("Dry run: the unsent batches would be sent with their original RequestIds.")
        return None
    if not yes:
        _confirm(f"Resume: send the {sum(b for b, _ in left.values())} unsent batch(es)?")
    return existing


@app.command("send")
def send(
    ctx: typer.Context,
    source: str = SOURCE_OPTION,
    query: str = QUERY_OPTION,
    customer: str = CUSTOMER_OPTION,
    service: str = SERVICE_OPTION,
    sender: str = typer.Option(..., "--sender", help="Sender name or number."),
    content: str = typer.Option(..., "--content", help="Message text; {{column}} is replaced per recipient."),
    phone_column: str = PHONE_COLUMN_OPTION,
    region_column: Optional[str] = REGION_COLUMN_OPTION,
    campaign: Optional[str] = CAMPAIGN_OPTION,
    at: Optional[str] = AT_OPTION,
    dlr_url: Optional[str] = DLR_OPTION,
    customer_data: Optional[str] = CUSTOMER_DATA_OPTION,
    ad: bool = typer.Option(False, "--ad", help="Mark the message as an ad message."),
    suppression_query: Optional[str] = SUPPRESSION_OPTION,
    max_parts: Optional[int] = typer.Option(None, "--max-parts", help="Most SMS parts a recipient may get (default 10)."),
    batch_size: Optional[int] = BATCH_OPTION,
    workers: int = WORKERS_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
    yes: bool = YES_OPTION,
    ledger: Optional[Path] = LEDGER_OPTION,
    opt_outs_url: Optional[str] = OPT_OUTS_URL_OPTION,
) -> None:
    """Send a personalised SMS to every recipient of a SQL query, exactly once."""
    try:
        settings = resolve_campaign_settings(batch_size, max_parts)
        check_common_fields(customer_data, dlr_url)
        message = {"sender": sender, "content": content, "send_date_time": parse_send_time(at),
                   "dlr_url": dlr_url, "customer_data": customer_data, "ad_message": True if ad else None}
        spec = CampaignSpec(
            "sms", customer, service,
            Source(source, query, phone_column, region_column, suppression_query),
            {key: value for key, value in message.items() if value is not None}, campaign_id=campaign,
        )
    except CampaignError as exc:
        raise _fail(exc, exc.exit_code) from None
    _run_campaign(ctx, spec, settings, ledger, dry_run, yes, workers, opt_outs_url)


def _columns(text: Optional[str]) -> tuple[str, ...]:
    return tuple(name.strip() for name in (text or "").split(",") if name.strip())


def _button_type(text: str, option: str) -> str:
    for name in BUTTON_TYPES:
        if name.lower() == text.strip().lower():
            return name
    raise CampaignInputError(f"{option}: button type {text!r} must be one of {', '.join(BUTTON_TYPES)}")


def parse_send_button(text: str) -> list[str]:
    """Parse --buttons TYPE:DATA into [type, data]."""
    kind, sep, data = text.partition(":")
    if not sep or not data:
        raise CampaignInputError(f"--buttons {text!r} must look like TYPE:DATA, e.g. QuickReply:Yes")
    return [_button_type(kind, "--buttons"), data]


def parse_template_button(text: str) -> models.TemplateButton:
    """Parse --button TYPE:LABEL:DATA, checking the data length the API allows per type."""
    pieces = text.split(":", 2)
    if len(pieces) != 3 or not all(pieces):
        raise CampaignInputError(f"--button {text!r} must look like TYPE:LABEL:DATA, e.g. Url:Open:https://example.com")
    kind = _button_type(pieces[0], "--button")
    if len(pieces[2]) > BUTTON_DATA_MAX[kind]:
        raise CampaignInputError(f"--button {kind} data is {len(pieces[2])} characters; the API allows {BUTTON_DATA_MAX[kind]}")
    return models.TemplateButton(type=kind, label=pieces[1], data=pieces[2])


@app.command("send-whatsapp")
def send_whatsapp(
    ctx: typer.Context,
    source: str = SOURCE_OPTION,
    query: str = QUERY_OPTION,
    customer: str = CUSTOMER_OPTION,
    service: str = SERVICE_OPTION,
    template: str = typer.Option(..., "--template", help="Template name (display name) or id."),
    body_params: Optional[str] = typer.Option(None, "--body-params", help="Comma-separated columns for {{1}}, {{2}}, ..."),
    header_params: Optional[str] = typer.Option(None, "--header-params", help="Comma-separated columns for the header."),
    buttons: Optional[List[str]] = typer.Option(None, "--buttons", help="TYPE:DATA, repeatable (Call, QuickReply, Url)."),
    attachment_uri: Optional[str] = typer.Option(None, "--attachment-uri", help="Attachment URI, if the template has one."),
    sms_fallback: bool = typer.Option(False, "--sms-fallback", help="Fall back to SMS where WhatsApp fails."),
    phone_column: str = PHONE_COLUMN_OPTION,
    region_column: Optional[str] = REGION_COLUMN_OPTION,
    campaign: Optional[str] = CAMPAIGN_OPTION,
    at: Optional[str] = AT_OPTION,
    dlr_url: Optional[str] = DLR_OPTION,
    customer_data: Optional[str] = CUSTOMER_DATA_OPTION,
    suppression_query: Optional[str] = SUPPRESSION_OPTION,
    batch_size: Optional[int] = BATCH_OPTION,
    workers: int = WORKERS_OPTION,
    dry_run: bool = DRY_RUN_OPTION,
    yes: bool = YES_OPTION,
    ledger: Optional[Path] = LEDGER_OPTION,
    opt_outs_url: Optional[str] = OPT_OUTS_URL_OPTION,
) -> None:
    """Send a WhatsApp template to every recipient of a SQL query, one call per parameter set and batch."""
    try:
        settings = resolve_campaign_settings(batch_size)
        check_common_fields(customer_data, dlr_url)
        body_columns, header_columns = _columns(body_params), _columns(header_params)
        send_buttons = [parse_send_button(text) for text in buttons or []]
        with open_client(ctx) as api:
            found = resolve_template(api.get_customer_whatsapp_templates(customer), template)
        check_template_parameters(found, body_columns)
        message = {"template_name": found.id, "buttons": send_buttons or None, "attachment_uri": attachment_uri,
                   "use_sms_fallback": True if sms_fallback else None, "send_date_time": parse_send_time(at),
                   "dlr_url": dlr_url, "customer_data": customer_data}
        spec = CampaignSpec(
            "whatsapp", customer, service,
            Source(source, query, phone_column, region_column, suppression_query),
            {key: value for key, value in message.items() if value is not None},
            body_columns, header_columns, campaign,
        )
    except CampaignError as exc:
        raise _fail(exc, exc.exit_code) from None
    _run_campaign(ctx, spec, settings, ledger, dry_run, yes, workers, opt_outs_url)


def reply_request_id(*values: object) -> str:
    """A RequestId derived from the reply itself, so running the same reply twice sends it once."""
    return "sdsync:reply:" + hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()[:32]


def _print_result(result: models.SendResult) -> None:
    stdout.print_json(json.dumps(result.model_dump(exclude_none=True)))


@app.command("reply")
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
    request_id: Optional[str] = typer.Option(None, "--request-id", help="RequestId of the reply; derived from it by default."),
) -> None:
    """Reply to a message (--parent-message-id) or into a discussion thread (--thread-id)."""
    try:
        check_common_fields(customer_data, None)
        if bool(parent_message_id) == bool(thread_id):
            raise CampaignInputError("give exactly one of --parent-message-id and --thread-id")
        if thread_id:
            with open_client(ctx) as api:
                result = api.send_discussion_reply_message(
                    customer, models.DiscussionReplyRequest(thread_id=thread_id, content=content, customer_data=customer_data)
                )
        else:
            if not (service and sender and to):
                raise CampaignInputError("--parent-message-id needs --service, --sender and at least one --to")
            addresses = [normalize_phone(number) for number in to]
            request = models.SendMessageRequest(
                sender=sender, content=content, customer_data=customer_data,
                recipients=[models.Recipient(address=address) for address in dict.fromkeys(addresses)],
                request_id=request_id or reply_request_id(parent_message_id, customer, service, sender, content, sorted(addresses)),
            )
            with open_client(ctx) as api:
                try:
                    result = api.send_reply_message(parent_message_id, customer, service, request)
                except errors.Conflict as exc:
                    console.print(f"Already sent (the service recognised the RequestId): {exc.detail}", markup=False)
                    return
    except InvalidPhoneNumber as exc:
        raise _fail(CampaignInputError(f"--to: {exc}"), EXIT_USAGE) from None
    except CampaignError as exc:
        raise _fail(exc, exc.exit_code) from None
    except errors.OutcomeUnknown as exc:
        raise _fail(
            CampaignError(f"{exc}. The reply may have been sent: check the thread before sending it again."), EXIT_FAILURE
        ) from None
    _print_result(result)


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
    try:
        buttons = [parse_template_button(text) for text in button or []]
        request = models.CreateWhatsAppTemplateRequest(
            display_name=name, raw_content=content, category=category, language=language,
            buttons=buttons or None, attachment_url=attachment_url,
        )
    except CampaignError as exc:
        raise _fail(exc, exc.exit_code) from None
    except ValidationError as exc:
        problems = "; ".join(f"{TEMPLATE_OPTIONS.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors())
        raise _fail(CampaignInputError(problems), EXIT_USAGE) from None
    with open_client(ctx) as api:
        categories = api.get_whatsapp_template_categories()
        if categories and category not in categories:
            raise _fail(CampaignInputError(f"unknown category {category!r}; the service has: {', '.join(categories)}"), EXIT_USAGE)
        identities = api.get_customer_whatsapp_identities(customer)
        if identity not in identities:
            raise _fail(CampaignInputError(f"unknown identity {identity!r}; the customer has: {', '.join(identities) or 'none'}"), EXIT_USAGE)
        api.create_whatsapp_template(customer, identity, request)
    stdout.print(f"Template {name!r} submitted for {identity}.", markup=False)
