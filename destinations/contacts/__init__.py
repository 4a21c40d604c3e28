"""Reverse sync of CRM contacts into SmartDialog group services (`sdsync contacts sync`).

`sync.run_contact_sync` is the job (the CLI and Dagster call it in-process). The path of a run, one module each:
reader (CRM rows via SQLAlchemy into pyarrow) → mapping (CRM columns → contact fields) →
validation (E.164 phones, duplicates: rejected rows keep their key and reason; optional fields normalised
or left out with a field warning) →
planner (DuckDB diff against the hash of what was last applied: create / update / delete) →
state (DuckDB: last-applied hashes, the operation journal, runs, rejects) →
applier (the journal replayed through the one API client, exactly once per op) → report.
"""
