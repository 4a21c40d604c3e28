"""dlt credentials for a PostgreSQL destination given without a password (libpq's PGPASSWORD or ~/.pgpass).

dlt's `PostgresCredentials` treats `password` as a required field: `postgresql://user@host/db` in
`DESTINATION__POSTGRES__CREDENTIALS` (or `--credentials`) is refused by its config resolution. Given
explicitly with an empty password, dlt connects with `postgresql://user:@host/db`, a URL in which libpq
ignores the empty password and reads `PGPASSWORD` or `~/.pgpass` (with trust auth it needs none).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smartdialog_sync.errors import UsageError

URL_FORM = "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"


def postgres_credentials(url: str) -> Any:
    """dlt's PostgresCredentials for a SQLAlchemy/libpq URL; without a password, libpq finds it."""
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    if "://" not in url:
        raise UsageError(f"PostgreSQL credentials are a URL: {URL_FORM}")
    scheme, rest = url.split("://", 1)
    credentials = PostgresCredentials(scheme.split("+", 1)[0] + "://" + rest)
    if credentials.password is None:
        credentials.password = ""
    return credentials


def configured_postgres_credentials(destination_name: str) -> Any | None:
    """`[destination.<name>] credentials` from dlt's config (a URL or a table), with an empty password
    when none is given; None when they are not configured (dlt then resolves and reports them itself)."""
    import dlt
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    value = None
    for accessor in (dlt.secrets, dlt.config):
        value = accessor.get(f"destination.{destination_name}.credentials")
        if value:
            break
    if isinstance(value, str) and value:
        return postgres_credentials(value)
    if isinstance(value, Mapping) and value:
        credentials = PostgresCredentials()
        for key, item in value.items():
            if hasattr(credentials, key):
                setattr(credentials, key, int(item) if key == "port" else item)
        if credentials.password is None:
            credentials.password = ""
        return credentials
    return None
