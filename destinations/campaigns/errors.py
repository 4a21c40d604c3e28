"""Errors of campaign sends, each mapped to the CLI's exit code."""

from __future__ import annotations

from smartdialog_sync.errors import EXIT_FAILURE, EXIT_USAGE, SdsyncError


class CampaignError(SdsyncError):
    """Base of campaign errors; `exit_code` is what the CLI exits with."""

    exit_code = EXIT_FAILURE


class CampaignInputError(CampaignError):
    """Bad input (query, columns, content, options) found before any API call."""

    exit_code = EXIT_USAGE


class LedgerConflict(CampaignError):
    """The campaign id exists in the ledger with a different query, content or options."""

    exit_code = EXIT_USAGE


class SendStopped(CampaignError):
    """The run stopped part way (rate limit, server errors, refused batch); rerun to finish."""

    exit_code = EXIT_FAILURE


class SendRefused(CampaignError):
    """The service refused a batch's request as it is (a 4xx validation answer): rerunning gets the same answer."""

    exit_code = EXIT_FAILURE
