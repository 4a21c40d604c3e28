"""Campaigns: bulk SMS and WhatsApp-template sends from a SQL query, exactly once through a ledger."""
