"""Campaigns: bulk SMS and WhatsApp-template sends from a SQL query, exactly once through a ledger.

The stages, in the order `run.run_campaign` calls them: request.py (what the user asked), planner.py (recipients,
suppression, send times, arms, batches.py), report.py (the plan before any call), ledger.py, sender.py.
"""
