"""After a pull, record in the journal how far it has loaded, so that pruning never removes unpulled rows.

The journal resources read incrementally by sequence (`journal_seq`); dlt keeps the cursor in the
pipeline state, which the journal cannot see. dlt saves that state at the end of the extract, before
the load, so the mark is written only after a load that finished with no job failed and nothing pending.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any, Iterable

from smartdialog_sync.sources.smartdialog.helpers import SEQUENCE_COLUMN

from smartdialog_sync.errors import UsageError
from smartdialog_sync.journal import open_journal

# journal table of each journal resource of the `smartdialog` source
JOURNAL_RESOURCES = {"inbound_messages": "inbound", "delivery_reports": "dlr", "link_clicks": "link_clicks"}


def pipeline_key(pipeline: Any) -> str:
    """How a pipeline is named in the journal's marks: its name, host and state folder."""
    return f"{pipeline.pipeline_name}@{socket.gethostname()}:{pipeline.pipelines_dir}"


def marks_named(name: str, mark_names: Iterable[str]) -> list[str]:
    """The marks `name` designates: a mark's full name (`PIPELINE@HOST:DIR`, as `sdsync status` prints it), or the
    pipeline name alone (as `sdsync pull` prints it) when one mark has it. UsageError naming the valid ones otherwise."""
    names = sorted(set(mark_names))
    if name in names:
        return [name]
    by_pipeline = [mark for mark in names if mark.split("@", 1)[0] == name]
    if len(by_pipeline) == 1:
        return by_pipeline
    if by_pipeline:
        raise UsageError(f"pipeline {name} has marks from several hosts or folders: give one of {', '.join(by_pipeline)}")
    valid = ", ".join(names) if names else "none: no pull has recorded a mark"
    raise UsageError(f"no marks of a pipeline named {name!r}; the marks are: {valid}")


def loaded_sequences(pipeline: Any, source_name: str) -> dict[str, int]:
    """{journal table: highest sequence loaded} from the pipeline state of the journal resources."""
    resources = pipeline.state.get("sources", {}).get(source_name, {}).get("resources", {})
    marks = {}
    for resource, table in JOURNAL_RESOURCES.items():
        cursor = resources.get(resource, {}).get("incremental", {}).get(SEQUENCE_COLUMN, {})
        if cursor.get("last_value") is not None:
            marks[table] = int(cursor["last_value"])
    return marks


def record_pull_marks(pipeline: Any, source: Any, journal: str | Path) -> None:
    """Save the pipeline's marks in the journal, if this run pulled a journal resource and loaded it all."""
    if not set(JOURNAL_RESOURCES) & set(source.selected_resources) or pipeline.has_pending_data:
        return
    marks = loaded_sequences(pipeline, source.name)
    if not marks:
        return
    store = open_journal(journal)
    try:
        for table, seq in marks.items():
            store.save_pull_mark(pipeline_key(pipeline), table, seq, time.time_ns() // 1000)
    finally:
        store.close()
