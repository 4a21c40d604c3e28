"""Errors of campaign sends, each mapped to the CLI's exit code."""

from __future__ import annotations


class CampaignError(Exception):
    """Base of campaign errors; `exit_code` is what the CLI exits with."""

    exit_code = 1


class CampaignInputError(CampaignError):
    """Bad input (query, columns, content, options) found before any API call."""

    exit_code = 2


class LedgerConflict(CampaignError):
    """The campaign id exists in the ledger with a different query, content or options."""

    exit_code = 2


class SendStopped(CampaignError):
    """The run stopped part way (rate limit, server errors, refused batch); rerun to finish."""

    exit_code = 1
