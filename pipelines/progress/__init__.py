"""How jobs show their progress: a rich console adapter per job and one plain log adapter (Dagster, declared syncs)."""
