"""Handlers of the definition's 20 operations, grouped by area."""
