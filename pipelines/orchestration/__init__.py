"""Scheduling the project's commands: Dagster definitions (optional extra `orchestration`)."""
