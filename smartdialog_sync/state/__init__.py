"""The project's state: where every store lives (local files or one shared PostgreSQL) and who runs what.

- `location`: `StateLocation` (the data dir and `state_url`), the default folders, URL checks;
- `files`: every local file name;
- `postgres`: the engine factory for the shared state;
- `runner_lock`: one runner at a time per campaign or contact group, across machines.

Each store owns its own schema and SQL (the ledger, the contact state, the journal, the token store,
the limiter); this package only says where they are.
"""
