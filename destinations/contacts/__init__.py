"""Reverse sync of CRM contacts into SmartDialog group services (`sdsync contacts sync`).

The path of a run, one module each:
reader (CRM rows via SQLAlchemy into pyarrow) → mapping (CRM columns → contact fields) →
validation (E.164 phones, enums, years, duplicates; rejected rows keep their key and reason) →
planner (DuckDB diff against the hash of what was last applied: create / update / delete) →
state (DuckDB: last-applied hashes, the operation journal, runs, rejects) →
applier (the journal replayed through the one API client, exactly once per op) → report.
"""
