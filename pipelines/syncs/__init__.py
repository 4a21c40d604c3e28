"""Declared syncs: named contact syncs, recurring campaigns and pulls in `[syncs.NAME]` of the dlt config.

- `definitions`: read and validate the `[syncs]` section (config.toml, secrets.toml, SYNCS__NAME__KEY);
- `schedule`: cron expressions and the next scheduled time;
- `runs`: the last run of each sync, recorded in the state (SQLite file or the shared PostgreSQL);
- `runner`: `run_declared_sync`, which the CLI's `sdsync run` and Dagster both call.
"""
