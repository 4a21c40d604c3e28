"""Numbers a campaign must not reach: opt-outs (stop replies) and a user suppression list.

Opt-outs are read from two kinds of source. First the receiver's journal, where the state keeps it (the
shared PostgreSQL of `state_url`, else `<data_dir>/journal.sqlite`): a STOP the receiver acknowledged is
honoured by the next send on any machine sharing the state, with no pull in between. Then the dataset
`sdsync pull` loaded (it keeps what the journal has pruned): an SQLAlchemy URL given by `--opt-outs-url` /
`[campaigns] opt_outs_url`, else every dataset a pull loaded from this data dir (a DuckDB file, or
PostgreSQL and other SQL destinations through their dlt credentials), else the default DuckDB file.

A source that exists but cannot be read refuses the send: sending without opt-outs is not safe. When no
source exists at all and campaigns were sent for the customer before, the send is refused too, naming
every place looked; only a customer's first campaign may go out without any.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from smartdialog_sync.constants import DEFAULT_DATASET
from smartdialog_sync.journal import STOP_REPLY_TRIM, JournalError, read_opt_out_senders
from smartdialog_sync.phones import InvalidPhoneNumber, normalize_phone
from smartdialog_sync.sqlfiles import read_sql
from smartdialog_sync.state.files import PIPELINES_DIR, PULL_PIPELINE_PREFIX
from smartdialog_sync.state.location import hide_password

from .errors import CampaignInputError
from .recipients import run_query

REASON_OPTED_OUT = "opted_out"
REASON_SUPPRESSED = "suppressed"
SETTING = "--opt-outs-url / [campaigns] opt_outs_url"


class OptOutsUnavailable(CampaignInputError):
    """Opt-outs are expected (configured, or a pull loaded them) but cannot be read: nothing is sent."""


@dataclass(frozen=True)
class Suppression:
    """Numbers to leave out (E.164 → reason), a line saying where they came from, and the opted-out numbers
    not left out because opt-outs were ignored (a transactional send with --ignore-opt-outs)."""

    numbers: dict[str, str]
    sources: list[str]
    ignored_opt_outs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OptOutSource:
    """A place to read opt-outs from: a database holding a pulled dataset, or the receiver's journal.

    `url` is an SQLAlchemy URL, or for the journal a SQLite path or postgresql:// URL (it may hold a
    password: show `label`); `dataset` is the schema preferred when several hold `inbound_messages`.
    `explicit`: given by the user, so a missing table is an error too.
    """

    url: str = field(repr=False)
    dataset: str
    label: str
    explicit: bool = False
    journal: bool = False


def _normalized(values: list[object]) -> set[str]:
    numbers = set()
    for value in values:
        try:
            numbers.add(normalize_phone(value))
        except InvalidPhoneNumber:
            continue
    return numbers


def _configured(key: str) -> str | None:
    """The text at `key` (e.g. `campaigns.opt_outs_url`) of dlt's secrets, else its config; None when unset."""
    import dlt

    for accessor in (dlt.secrets, dlt.config):
        value = accessor.get(key)
        if value:
            return str(value)
    return None


def _configured_url() -> str | None:
    """[campaigns] opt_outs_url from dlt's config or secrets (env CAMPAIGNS__OPT_OUTS_URL)."""
    return _configured("campaigns.opt_outs_url")


def configured_journal_url() -> str | None:
    """The journal override the pull reads, [sources.smartdialog] journal_url (env SOURCES__SMARTDIALOG__JOURNAL_URL)."""
    return _configured("sources.smartdialog.journal_url")


def _duckdb_source(path: Path, dataset: str) -> OptOutSource:
    return OptOutSource(f"duckdb:///{path}", dataset, str(path))


def journal_source(journal: str | Path) -> OptOutSource:
    """The receiver's journal at `journal` (the state's: a Path or a postgresql:// URL) as an opt-out source."""
    return OptOutSource(str(journal), DEFAULT_DATASET, f"the journal {hide_password(str(journal))}", journal=True)


def _pulled_source(pipeline_dir: Path, duckdb_file: Path) -> OptOutSource:
    """Where the pull of `pipeline_dir` loaded: its DuckDB file, or its destination's dlt credentials."""
    import dlt
    from dlt.common.configuration.exceptions import ConfigurationException

    state = json.loads((pipeline_dir / "state.json").read_text())
    dataset = state.get("dataset_name") or DEFAULT_DATASET
    kind = str(state.get("destination_type") or "").rsplit(".", 1)[-1]
    if kind == "duckdb":
        if not duckdb_file.exists():
            raise OptOutsUnavailable(
                f"cannot read opt-outs: the pull loaded into DuckDB but {duckdb_file} does not exist; "
                f"set [campaigns] opt_out_dataset to the pulled file or {SETTING}")
        return _duckdb_source(duckdb_file, dataset)
    if kind == "postgres":
        from smartdialog_sync.destination_credentials import (
            configured_postgres_credentials,
        )

        credentials = configured_postgres_credentials(state.get("destination_name") or kind)
        if credentials is not None:  # a URL without a password too (PGPASSWORD, ~/.pgpass)
            url = credentials.to_native_representation()
            return OptOutSource(url, dataset, f"{kind} dataset {dataset} at {hide_password(url)}")
    try:
        pipeline = dlt.attach(pipeline_dir.name, pipelines_dir=str(pipeline_dir.parent))
        url = pipeline.destination_client().config.credentials.to_native_representation()
    except ConfigurationException:
        raise OptOutsUnavailable(
            f"cannot read opt-outs: the pull loaded into {kind} dataset {dataset}, but no credentials for it are "
            f"configured (DESTINATION__{kind.upper()}__CREDENTIALS); set them or {SETTING}") from None
    return OptOutSource(url, dataset, f"{kind} dataset {dataset} at {hide_password(url)}")


def opt_out_sources(data_dir: Path, duckdb_file: Path, opt_outs_url: str | None = None,
                    journal: str | Path | None = None) -> list[OptOutSource]:
    """Where to read opt-outs: the receiver's `journal` (when given), then `opt_outs_url` or [campaigns]
    opt_outs_url, else every dataset a pull loaded from `data_dir` (`duckdb_file` for a DuckDB pull), else
    `duckdb_file` (read only if it exists: without a pull it is one of the places looked)."""
    sources = [journal_source(journal)] if journal else []
    url = opt_outs_url or _configured_url()
    if url:
        return [*sources, OptOutSource(url, DEFAULT_DATASET, hide_password(url), explicit=True)]
    pulls = sorted(path.parent for path in (data_dir / PIPELINES_DIR).glob(f"{PULL_PIPELINE_PREFIX}_*/state.json"))
    if pulls:
        return [*sources, *(_pulled_source(pipeline_dir, duckdb_file) for pipeline_dir in pulls)]
    return [*sources, _duckdb_source(duckdb_file, DEFAULT_DATASET)]


def _engine(url: str) -> sa.Engine:
    read_only = {"read_only": True} if url.startswith("duckdb") else {}
    try:
        return sa.create_engine(url, poolclass=sa.pool.NullPool, connect_args=read_only)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise OptOutsUnavailable(f"cannot read opt-outs from {hide_password(url)}: {exc}") from None


def journal_opt_outs(source: OptOutSource, stop_keywords: tuple[str, ...]) -> tuple[set[str], int | None] | None:
    """(senders of a stop reply, when the latest was received) from the receiver's journal, read-only.
    None: no journal there yet. A journal that cannot be read refuses the send."""
    try:
        senders = read_opt_out_senders(source.url, stop_keywords)
    except JournalError as exc:
        raise OptOutsUnavailable(f"cannot read opt-outs: {exc}; nothing sent") from None
    if senders is None:
        return None
    return _normalized([row.sender for row in senders]), max((row.latest_us for row in senders), default=None)


def opted_out_numbers(source: OptOutSource, stop_keywords: tuple[str, ...]) -> set[str] | None:
    """Senders of a stop reply (journal.STOP_REPLY_TRIM, as the journal reads them), from the journal or
    from `inbound_messages` (columns sender, content) in the source's dataset schema, or whichever schema
    holds it. None: no journal, no DuckDB file or no such table (nothing pulled yet; an error for an
    explicit source). A database that cannot be read is an error: sending without opt-outs is not safe."""
    return _read(source, stop_keywords)[0]


def _dataset_opt_outs(source: OptOutSource, stop_keywords: tuple[str, ...]) -> set[str] | None:
    if source.url.startswith("duckdb:///") and not source.explicit and not Path(source.url[len("duckdb:///"):]).exists():
        return None
    engine = _engine(source.url)
    try:
        with engine.connect() as connection:
            found = connection.execute(sa.text(read_sql("campaign_opt_outs_schema.sql")), {"dataset": source.dataset}).first()
            if found is None:
                if source.explicit:
                    raise OptOutsUnavailable(f"cannot read opt-outs: {source.label} has no inbound_messages table "
                                             "(pull the receiver's journal there first)")
                return None
            schema = engine.dialect.identifier_preparer.quote_identifier(found[0])
            query = sa.text(read_sql("campaign_opt_outs.sql").replace("{schema}", schema))
            query = query.bindparams(sa.bindparam("keywords", expanding=True))
            rows = connection.execute(query, {"trim": STOP_REPLY_TRIM, "keywords": list(stop_keywords)}).fetchall()
    except SQLAlchemyError as exc:
        message = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise OptOutsUnavailable(f"cannot read opt-outs from {source.label}: {message}; nothing sent") from None
    finally:
        engine.dispose()
    return _normalized([row[0] for row in rows])


def query_suppressed_numbers(source_url: str, query: str, phone_column: str | None = None) -> set[str]:
    """Numbers returned by a user's suppression query (its `phone_column` if it has one, else its first column)."""
    result = run_query(source_url, query, "the suppression query")
    if not result.columns:
        raise CampaignInputError("the suppression query returned no columns")
    lowered = [column.lower() for column in result.columns]
    at = lowered.index(phone_column.lower()) if phone_column and phone_column.lower() in lowered else 0
    return _normalized([row[at] for row in result.rows])


def load_suppression(
    opt_outs: list[OptOutSource],
    stop_keywords: tuple[str, ...],
    source_url: str,
    suppression_query: str | None = None,
    phone_column: str | None = None,
    customer_sent_before: str | None = None,
    ignore_opt_outs: bool = False,
) -> Suppression:
    """Opt-outs from the journal and the pulled datasets plus the numbers of `suppression_query` (run on
    `source_url`). `customer_sent_before` names the customer when campaigns were sent for it before: then
    finding no opt-out source at all refuses the send (OptOutsUnavailable), naming every place looked.
    `ignore_opt_outs`: the opt-outs are read and returned as `ignored_opt_outs`, not left out."""
    numbers: dict[str, str] = {}
    ignored: set[str] = set()
    sources, looked = [], []
    for opt_out_source in opt_outs:
        opted_out, latest = _read(opt_out_source, stop_keywords)
        if opted_out is None:
            looked.append(f"{opt_out_source.label} ({'no journal there' if opt_out_source.journal else 'nothing pulled there'})")
            sources.append(f"no opt-outs read: {_nothing_at(opt_out_source)}")
            continue
        if ignore_opt_outs:
            ignored.update(opted_out)
        else:
            numbers.update(dict.fromkeys(opted_out, REASON_OPTED_OUT))
        since = f"; latest {_utc(latest)}" if latest is not None else ""
        sources.append(f"{len(opted_out)} opted-out number(s) from {opt_out_source.label} ({', '.join(stop_keywords)}{since})")
    if len(looked) == len(opt_outs):  # an explicit source is never missing (it refuses instead)
        places = "; ".join([*looked, f"{SETTING} (not set)"])
        if customer_sent_before:
            raise OptOutsUnavailable(
                f"no opt-out source found, but campaigns were sent for customer {customer_sent_before} before: nothing sent. "
                f"Looked in: {places}. Run the receiver (sdsync serve) with this state, sdsync pull, or give {SETTING}")
        sources.append("no opt-out source found: sent without opt-outs, as no campaign was sent for this customer before")
    if suppression_query:
        suppressed = query_suppressed_numbers(source_url, suppression_query, phone_column)
        for number in suppressed:
            numbers.setdefault(number, REASON_SUPPRESSED)
        sources.append(f"{len(suppressed)} number(s) from the suppression query")
    return Suppression(numbers, sources, frozenset(ignored))


def _read(source: OptOutSource, stop_keywords: tuple[str, ...]) -> tuple[set[str] | None, int | None]:
    if source.journal:
        found = journal_opt_outs(source, stop_keywords)
        return (None, None) if found is None else found
    return _dataset_opt_outs(source, stop_keywords), None


def _utc(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _nothing_at(source: OptOutSource) -> str:
    if source.journal:
        return f"no journal at {source.label.removeprefix('the journal ')} yet"
    if source.url.startswith("duckdb:///") and not Path(source.url[len("duckdb:///"):]).exists():
        return f"nothing pulled yet (no {source.label}; sdsync pull, or {SETTING})"
    return f"{source.label} holds no inbound_messages yet"
