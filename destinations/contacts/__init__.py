"""Reverse sync of CRM contacts into SmartDialog group services (`sdsync contacts sync`).

`sync.run_contact_sync` is the job (the CLI and Dagster call it in-process); it calls the stages of a run in
this order, one module each:
reader (CRM rows via SQLAlchemy into pyarrow) → mapping (CRM columns → contact fields) →
group_check (is the group service a Group service of the customer; before the first sync of a group) →
validation (the rows staged in DuckDB; E.164 phones, duplicates: rejected rows keep their key and reason;
optional fields normalised or left out with a field warning) →
planner (DuckDB diff against the hash of what was last applied: create / update / delete) →
applier (in-flight ops read back, then the journal replayed through the one API client, exactly once per op).
Beneath them, state (DuckDB or PostgreSQL: last-applied hashes, the operation journal, runs, rejects).
What a run shows: `SyncProgress`, rendered by `pipelines/progress/contacts.py` (console) and
`pipelines/progress/log.py` (log lines).
"""
