# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests of the postgres_major filter (plugins/filter/postgres_major.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[4] / "plugins" / "filter" / "postgres_major.py"
_SPEC = importlib.util.spec_from_file_location("airflow_k8s_postgres_major", _PATH)
assert _SPEC and _SPEC.loader
_MODULE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_MODULE)
postgres_major = _MODULE.postgres_major


@pytest.mark.parametrize(
    ("image", "major"),
    [
        ("postgres:15", "15"),
        ("postgres:16.4", "16"),
        ("postgres:16-alpine", "16"),
        ("postgres:17rc1", "17"),
        ("localhost/airflow-k8s/postgres:15.20-94c83d94", "15"),
        ("registry.example.com:5000/db/postgres:16.1-bookworm", "16"),
        ("registry.example.com:5000/db/postgres:14@sha256:" + "a" * 64, "14"),
        ("postgres:9.6.24", "9.6"),
        ("postgres:9", "9"),
    ],
)
def test_major_from_the_tag(image: str, major: str) -> None:
    assert postgres_major(image) == major


@pytest.mark.parametrize(
    "image",
    [
        "postgres",
        "postgres:latest",
        "postgres:bookworm",
        "postgres@sha256:" + "b" * 64,
        "registry.example.com:5000/postgres",
        "registry.example.com:5000/postgres@sha256:" + "c" * 64,
    ],
)
def test_no_major_without_a_leading_number(image: str) -> None:
    assert postgres_major(image) == ""


@pytest.mark.parametrize("bad", ["", None, 15])
def test_refuses_no_image(bad) -> None:
    with pytest.raises(ValueError):
        postgres_major(bad)
