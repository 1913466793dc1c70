# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests of the airflow_k8s.platform.postgres_uri filter (plugins/filter/postgres_uri.py)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

_PLUGIN = Path(__file__).resolve().parents[4] / "plugins" / "filter" / "postgres_uri.py"
_spec = importlib.util.spec_from_file_location("airflow_k8s_postgres_uri", _PLUGIN)
assert _spec is not None and _spec.loader is not None
plugin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(plugin)
postgres_uri = plugin.postgres_uri

NASTY = [
    "p@ss:w/rd?#%&+ x",
    "100%",
    "%41%",  # already looks encoded: must come back unchanged, not decoded twice
    "a+b c",  # '+' is not a space in a URI
    "=;'\"\\$`!*()[]{}<>|^,~",
    "\N{LATIN SMALL LETTER E WITH ACUTE}t\N{LATIN SMALL LETTER E WITH ACUTE} \N{SNOWMAN}",
    " leading and trailing ",
]


def _libpq_split(uri: str) -> dict[str, str]:
    """Split a URI the way libpq's conninfo_uri_parse_options does, decoding %XX like conninfo_uri_decode."""

    def decode(text: str) -> str:
        if re.search(r"%(?![0-9A-Fa-f]{2})", text):
            raise ValueError(f"invalid percent-encoded token in {text!r}")
        if "%00" in text:
            raise ValueError("forbidden value %00")
        return unquote(text, errors="strict")

    prefix = "postgresql://"
    assert uri.startswith(prefix)
    rest = uri[len(prefix) :]
    result: dict[str, str] = {}
    at = rest.find("@")
    slash = rest.find("/")
    if at != -1 and (slash == -1 or at < slash):
        userinfo, rest = rest[:at], rest[at + 1 :]
        user, sep, password = userinfo.partition(":")
        result["user"] = decode(user)
        if sep:
            result["password"] = decode(password)
    if rest.startswith("["):
        end = rest.index("]")
        result["host"], rest = rest[1:end], rest[end + 1 :]
    else:
        match = re.match(r"[^:/?]*", rest)
        assert match is not None
        result["host"], rest = decode(match.group(0)), rest[match.end() :]
    if rest.startswith(":"):
        match = re.match(r":([^/?]*)", rest)
        assert match is not None
        result["port"], rest = match.group(1), rest[match.end() :]
    if rest.startswith("/"):
        dbname, _, rest = rest[1:].partition("?")
        result["dbname"] = decode(dbname)
        query = rest
    else:
        query = rest[1:] if rest.startswith("?") else rest
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        result[decode(key)] = decode(value)
    return result


def test_plain_uri():
    assert postgres_uri("db.example.com", user="airflow", password="secret", database="airflow") == (
        "postgresql://airflow:secret@db.example.com:5432/airflow"
    )


def test_filter_is_registered():
    assert plugin.FilterModule().filters()["postgres_uri"] is postgres_uri


@pytest.mark.parametrize("password", NASTY)
def test_password_round_trips_through_urllib(password):
    uri = postgres_uri("db", user="airflow", password=password)
    parts = urlsplit(uri)
    assert parts.scheme == "postgresql"
    assert parts.hostname == "db"
    assert parts.port == 5432
    assert unquote(parts.username) == "airflow"
    assert unquote(parts.password) == password


@pytest.mark.parametrize("secret", NASTY)
def test_user_and_password_round_trip_through_libpq_rules(secret):
    uri = postgres_uri("db.internal", user=secret, password=secret[::-1], database="air flow/db", port=6543)
    assert _libpq_split(uri) == {
        "user": secret,
        "password": secret[::-1],
        "host": "db.internal",
        "port": "6543",
        "dbname": "air flow/db",
    }


@pytest.mark.parametrize("password", NASTY)
def test_userinfo_has_no_raw_delimiters(password):
    uri = postgres_uri("db", user="us@er:x", password=password)
    userinfo = uri[len("postgresql://") : uri.rindex("@db:")]
    assert userinfo.count(":") == 1
    assert re.fullmatch(r"[A-Za-z0-9._~%:-]+", userinfo), userinfo
    assert "+" not in userinfo and " " not in userinfo


def test_space_is_encoded_as_percent_20_not_plus():
    assert postgres_uri("db", user="a b", password="c d") == "postgresql://a%20b:c%20d@db:5432/airflow"


def test_empty_password_is_left_out():
    assert postgres_uri("db", user="airflow", password="") == "postgresql://airflow@db:5432/airflow"
    assert postgres_uri("db", user="airflow", password=None) == "postgresql://airflow@db:5432/airflow"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("::1", "[::1]"),
        ("[::1]", "[::1]"),
        ("2001:DB8:0:0::1", "[2001:db8::1]"),
        ("[2001:db8::10]", "[2001:db8::10]"),
        ("10.0.0.7", "10.0.0.7"),
        ("airflow-postgres.airflow.svc", "airflow-postgres.airflow.svc"),
        ("mydb.abc123.eu-west-1.rds.amazonaws.com", "mydb.abc123.eu-west-1.rds.amazonaws.com"),
    ],
)
def test_host_forms(host, expected):
    uri = postgres_uri(host, user="u", password="p", port=5433)
    assert uri == f"postgresql://u:p@{expected}:5433/airflow"
    parts = urlsplit(uri)
    assert parts.hostname == expected.strip("[]").lower()
    assert parts.port == 5433
    assert _libpq_split(uri)["host"] == expected.strip("[]")


@pytest.mark.parametrize("host", ["", "   ", None, "db/x", "user@db", "db?x", "db name", "[db]", "[::1", "db:5432", "-db"])
def test_bad_host_is_rejected(host):
    with pytest.raises(ValueError, match="host"):
        postgres_uri(host, user="u", password="p")


@pytest.mark.parametrize("port", [5432, "5432", 1, 65535])
def test_valid_ports(port):
    assert urlsplit(postgres_uri("db", user="u", password="p", port=port)).port == int(port)


@pytest.mark.parametrize("port", [0, 65536, -1, "abc", "54 32"])
def test_bad_port_is_rejected(port):
    with pytest.raises(ValueError, match="port"):
        postgres_uri("db", user="u", password="p", port=port)


def test_bool_port_is_rejected():
    with pytest.raises(TypeError, match="port"):
        postgres_uri("db", user="u", password="p", port=True)


@pytest.mark.parametrize("sslmode", ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])
def test_sslmode_query(sslmode):
    uri = postgres_uri("db", user="u", password="p", sslmode=sslmode)
    assert uri.endswith(f"/airflow?sslmode={sslmode}")
    assert parse_qs(urlsplit(uri).query) == {"sslmode": [sslmode]}


def test_sslmode_and_sslrootcert_query():
    uri = postgres_uri(
        "db.example.com",
        user="airflow",
        password="p@ss",
        database="airflow",
        sslmode="verify-full",
        sslrootcert="/opt/airflow/db-ca/ca.crt",
    )
    assert uri == (
        "postgresql://airflow:p%40ss@db.example.com:5432/airflow"
        "?sslmode=verify-full&sslrootcert=/opt/airflow/db-ca/ca.crt"
    )
    assert parse_qs(urlsplit(uri).query) == {"sslmode": ["verify-full"], "sslrootcert": ["/opt/airflow/db-ca/ca.crt"]}
    parsed = _libpq_split(uri)
    assert parsed["sslmode"] == "verify-full"
    assert parsed["sslrootcert"] == "/opt/airflow/db-ca/ca.crt"
    assert parsed["password"] == "p@ss"


def test_empty_sslmode_and_sslrootcert_are_left_out():
    assert "?" not in postgres_uri("db", user="u", password="p", sslmode="", sslrootcert="")


@pytest.mark.parametrize("sslmode", ["verify_full", "on", "true", "VERIFY-FULL"])
def test_bad_sslmode_is_rejected(sslmode):
    with pytest.raises(ValueError, match="sslmode"):
        postgres_uri("db", user="u", password="p", sslmode=sslmode)


def test_empty_user_and_database_are_rejected():
    with pytest.raises(ValueError, match="user"):
        postgres_uri("db", user="", password="p")
    with pytest.raises(ValueError, match="database"):
        postgres_uri("db", user="u", password="p", database="")


def test_non_string_password_is_rejected():
    with pytest.raises(TypeError, match="password"):
        postgres_uri("db", user="u", password=12345678)


def test_nul_is_rejected():
    with pytest.raises(ValueError, match="NUL"):
        postgres_uri("db", user="u", password="a\x00b")


@pytest.mark.parametrize("password", NASTY)
def test_psycopg_parses_the_same_values(password):
    conninfo = pytest.importorskip("psycopg.conninfo")
    uri = postgres_uri("db", user="us er@x", password=password, port=6543, sslmode="verify-full", sslrootcert="/opt/airflow/db-ca/ca.crt")
    assert conninfo.conninfo_to_dict(uri) == {
        "user": "us er@x",
        "password": password,
        "host": "db",
        "port": "6543",
        "dbname": "airflow",
        "sslmode": "verify-full",
        "sslrootcert": "/opt/airflow/db-ca/ca.crt",
    }


@pytest.mark.parametrize("password", NASTY)
def test_sqlalchemy_parses_the_same_values(password):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    url = sqlalchemy.engine.make_url(postgres_uri("[::1]", user="us er@x", password=password, sslmode="require"))
    assert (url.username, url.password, url.host, url.port, url.database) == ("us er@x", password, "::1", 5432, "airflow")
    assert dict(url.query) == {"sslmode": "require"}


def test_options_follow_sslmode_in_their_order():
    uri = postgres_uri("db", user="u", password="p", sslmode="require",
                       options={"connect_timeout": 10, "keepalives_idle": 15, "application_name": "a b&c"})
    assert uri == ("postgresql://u:p@db:5432/airflow?sslmode=require&connect_timeout=10&keepalives_idle=15"
                   "&application_name=a%20b%26c")
    assert _libpq_split(uri)["application_name"] == "a b&c"


def test_the_role_options_reach_libpq():
    """The role's own values (airflow_db vars/main.yml) as libpq reads them from the URI it builds."""
    import yaml

    role_vars = yaml.safe_load((_PLUGIN.parents[2] / "roles/airflow_db/vars/main.yml").read_text())
    options = role_vars["_airflow_db_client_options"]
    assert {"connect_timeout", "keepalives_idle", "tcp_user_timeout"} <= set(options)
    parsed = _libpq_split(postgres_uri("db", user="u", password="p", sslmode="disable", options=options))
    assert {k: parsed[k] for k in options} == {k: str(v) for k, v in options.items()}


@pytest.mark.parametrize(
    "options",
    [{"host": "other"}, {"sslmode": "disable"}, {"dbname": "x"}, {"Bad": 1}, {"a-b": 1}, {"": 1}, {"x": -1},
     {"x": True}, {"x": 1.5}, {"x": None}, {"x": "nul\x00"}],
)
def test_bad_options_are_rejected(options):
    with pytest.raises((TypeError, ValueError), match="postgres_uri: option|must not contain"):
        postgres_uri("db", user="u", password="p", options=options)


def test_asyncpg_uri_carries_the_tls_settings_in_its_dsn():
    uri = postgres_uri("db.example.com", user="air flow", password="p@ss", sslmode="verify-full",
                       sslrootcert="/opt/airflow/db-ca/ca.crt", driver="asyncpg")
    parts = urlsplit(uri)
    assert parts.scheme == "postgresql+asyncpg"
    assert (unquote(parts.username), unquote(parts.password), parts.hostname, parts.port) == (
        "air flow", "p@ss", "db.example.com", 5432)
    # SQLAlchemy hands asyncpg.connect() one keyword, dsn, whose own query holds what libpq's URI holds
    assert parse_qs(parts.query) == {"dsn": ["postgresql://?sslmode=verify-full&sslrootcert=/opt/airflow/db-ca/ca.crt"]}


def test_asyncpg_uri_without_tls_settings_has_no_query():
    assert postgres_uri("db", user="u", password="p", driver="asyncpg") == "postgresql+asyncpg://u:p@db:5432/airflow"


def test_asyncpg_uri_refuses_libpq_options_and_unknown_drivers():
    with pytest.raises(ValueError, match="options are libpq's"):
        postgres_uri("db", user="u", password="p", driver="asyncpg", options={"connect_timeout": 10})
    with pytest.raises(ValueError, match="driver"):
        postgres_uri("db", user="u", password="p", driver="psycopg")
