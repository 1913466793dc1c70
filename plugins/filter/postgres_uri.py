# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Build the metadata database connection URI that Airflow, psycopg2 and libpq all read the same way."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote

# libpq's sslmode values (https://www.postgresql.org/docs/current/libpq-ssl.html), weakest first.
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SCHEME = "postgresql"

# A DNS name (RFC 1123 labels; '_' tolerated as some internal resolvers hand them out).
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")


def _text(name: str, value: object, *, allow_empty: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise TypeError(f"postgres_uri: {name} must be a string, got {type(value).__name__}")
    value = str(value)
    if not allow_empty and value == "":
        raise ValueError(f"postgres_uri: {name} must not be empty")
    if "\x00" in value:
        raise ValueError(f"postgres_uri: {name} must not contain a NUL character")
    return value


def _host(host: object) -> str:
    """The host part of the URI: IPv6 addresses in brackets, names and IPv4 as they are."""
    host = _text("host", host).strip()
    if host == "":
        raise ValueError("postgres_uri: host must not be empty")
    bracketed = host.startswith("[") and host.endswith("]")
    try:
        address = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError:
        if bracketed or not _HOSTNAME.match(host):
            raise ValueError(f"postgres_uri: host {host!r} is neither a DNS name nor an IP address") from None
        return host
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def _port(port: object) -> int:
    if isinstance(port, bool):
        raise TypeError("postgres_uri: port must be an integer, got bool")
    try:
        number = int(str(port), 10)
    except ValueError:
        raise ValueError(f"postgres_uri: port {port!r} is not a number") from None
    if not 1 <= number <= 65535:
        raise ValueError(f"postgres_uri: port {number} is outside 1-65535")
    return number


_OPTION_NAME = re.compile(r"^[a-z][a-z_]*$")
_URI_PARTS = ("host", "hostaddr", "port", "user", "password", "dbname", "sslmode", "sslrootcert")


def _option(name: object, value: object) -> str:
    """One ``name=value`` of the query: a libpq parameter that the URI's own arguments do not set."""
    if not isinstance(name, str) or not _OPTION_NAME.match(name) or name in _URI_PARTS:
        raise ValueError(f"postgres_uri: option {name!r} is not a further libpq parameter (lowercase letters and '_', "
                         f"not one of {', '.join(_URI_PARTS)})")
    if isinstance(value, bool) or (isinstance(value, int) and value < 0):
        raise ValueError(f"postgres_uri: option {name}={value!r} is not a non-negative integer or a string")
    if not isinstance(value, (int, str)):
        raise TypeError(f"postgres_uri: option {name} must be an integer or a string, got {type(value).__name__}")
    return f"{name}={quote(_text(name, str(value)), safe='')}"


def postgres_uri(
    host: str,
    user: str,
    password: str = "",
    database: str = "airflow",
    port: int | str = 5432,
    sslmode: str | None = None,
    sslrootcert: str | None = None,
    options: dict | None = None,
    driver: str = "",
) -> str:
    """Return ``postgresql://user:password@host:port/database?sslmode=...&sslrootcert=...&<options>``.

    With ``driver="asyncpg"``, the URI of SQLAlchemy's asyncpg dialect (Airflow's ``sql_alchemy_conn_async``):
    ``postgresql+asyncpg://user:password@host:port/database?dsn=<postgresql://?sslmode=...&sslrootcert=...>``. The
    dialect hands every query parameter to ``asyncpg.connect()`` as a keyword, which knows neither ``sslmode`` nor
    ``sslrootcert`` (a URI with them fails at the first connection) but parses both from its ``dsn``. libpq's
    ``options`` have no place there (asyncpg would send them to the server as settings): giving both is an error.

    ``options`` are further libpq connection parameters (``connect_timeout``, ``keepalives_idle``, ...), in their
    order, each a name of lowercase letters and underscores (not one of the URI's own parts) with a non-negative
    integer or a string value.

    User, password and database are percent-encoded in full (only ``A-Za-z0-9-._~`` stay as they
    are; a space becomes ``%20``, never ``+``), so libpq, psycopg2 and SQLAlchemy decode the same
    values. Airflow reads the value from an environment variable, where ``%`` needs no escaping;
    a value written into airflow.cfg would need every ``%`` doubled.
    """
    host_part = _host(host)
    port_number = _port(port)
    user = _text("user", user)
    password = _text("password", password, allow_empty=True)
    database = _text("database", database)

    userinfo = quote(user, safe="")
    if password:
        userinfo += ":" + quote(password, safe="")

    if driver not in ("", "asyncpg"):
        raise ValueError(f"postgres_uri: driver {driver!r} is not one of '' (libpq's URI) or 'asyncpg'")
    if driver and options:
        raise ValueError("postgres_uri: options are libpq's; asyncpg's URI takes none")

    query = []
    if sslmode is not None and sslmode != "":
        sslmode = _text("sslmode", sslmode)
        if sslmode not in SSLMODES:
            raise ValueError(f"postgres_uri: sslmode {sslmode!r} is not one of libpq's modes: {', '.join(SSLMODES)}")
        query.append("sslmode=" + sslmode)
    if sslrootcert is not None and sslrootcert != "":
        sslrootcert = _text("sslrootcert", sslrootcert)
        query.append("sslrootcert=" + quote(sslrootcert, safe="/"))
    for name, value in (options or {}).items():
        query.append(_option(name, value))

    if driver and query:
        query = ["dsn=" + quote(f"{SCHEME}://?" + "&".join(query), safe="")]
    scheme = f"{SCHEME}+{driver}" if driver else SCHEME
    uri = f"{scheme}://{userinfo}@{host_part}:{port_number}/{quote(database, safe='')}"
    return uri + ("?" + "&".join(query) if query else "")


class FilterModule:
    """Postgres connection filters."""

    def filters(self):
        return {"postgres_uri": postgres_uri}
