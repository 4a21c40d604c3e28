"""The SQL of smartdialog-sync, one statement or named section per file; read with `smartdialog_sync.sqlfiles.read_sql`."""
