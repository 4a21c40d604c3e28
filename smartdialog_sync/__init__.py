"""smartdialog-sync: the open-source dlt connector for SmartDialog (Arena Interactive).

This package is the core that imports no dlt: the API client (`smartdialog_sync.api`), constants,
phone and SMS-part rules, the SQL loader and the webhook journal. The dlt source
(`smartdialog_sync.sources.smartdialog`), the reverse-ETL jobs (`smartdialog_sync.destinations`), the
CLI and pipelines (`smartdialog_sync.pipelines`), the receiver and the emulator are subpackages that
live in the repository's top-level folders of the same names.
"""

__version__ = "0.1.0"

from .telemetry import telemetry_off_by_default

telemetry_off_by_default()
