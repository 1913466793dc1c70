# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests of the with_defaults and object_names filters (plugins/filter/)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_FILTERS = Path(__file__).resolve().parents[4] / "plugins" / "filter"
_REPO = _FILTERS.parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"airflow_k8s_{name}", _FILTERS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


with_defaults = _load("with_defaults").with_defaults
object_names = _load("object_names").object_names


@pytest.fixture
def role(tmp_path: Path) -> Path:
    (tmp_path / "defaults").mkdir()
    (tmp_path / "defaults" / "main.yml").write_text(
        "---\nr_c:\n  replicas: 1\n  resources:\n    requests: {cpu: 250m}\n  tags: !unsafe '{{ x }}'\n"
        "r_ns: \"{{ airflow_namespace | default('airflow') }}\"\n"
    )
    return tmp_path


def test_partial_dict_keeps_the_other_defaults(role: Path) -> None:
    assert with_defaults({"replicas": 3}, "r_c", str(role)) == {
        "replicas": 3, "resources": {"requests": {"cpu": "250m"}}, "tags": "{{ x }}"}


def test_a_key_given_replaces_its_default_whole(role: Path) -> None:
    merged = with_defaults({"resources": {"limits": {"memory": "1Gi"}}}, "r_c", str(role))
    assert merged["resources"] == {"limits": {"memory": "1Gi"}}
    assert merged["replicas"] == 1


def test_none_and_non_dicts(role: Path) -> None:
    assert with_defaults(None, "r_c", str(role))["replicas"] == 1
    assert with_defaults("oops", "r_c", str(role)) == "oops"


def test_defaults_are_not_mutated(role: Path) -> None:
    with_defaults({"replicas": 5}, "r_c", str(role))
    assert with_defaults({}, "r_c", str(role))["replicas"] == 1


def test_unknown_or_non_dict_default(role: Path) -> None:
    with pytest.raises(KeyError):
        with_defaults({}, "r_missing", str(role))
    with pytest.raises(TypeError):
        with_defaults({}, "r_ns", str(role))


def test_real_role_defaults() -> None:
    merged = with_defaults({"resources": {}}, "airflow_core_scheduler", str(_REPO / "roles" / "airflow_core"))
    assert merged["replicas"] == 1 and merged["resources"] == {}


def test_the_role_comes_from_the_name_without_role_path() -> None:
    # Role-independent: a play's task after the role (no role_path) reads the same defaults.
    merged = with_defaults({"replicas": 2}, "airflow_core_scheduler")
    assert merged["replicas"] == 2 and merged["resources"] == with_defaults({}, "airflow_core_scheduler")["resources"]
    assert merged["resources"], "airflow_core's scheduler default has resources"
    with pytest.raises(KeyError):
        with_defaults({}, "nobody_scheduler")


def test_object_names() -> None:
    names = object_names("prod")
    assert names == {
        "db_connection_secret": "prod-metadata-db",
        "db_ca_secret": "prod-metadata-db-ca",
        "claim_prefix": "prod-",
        "dags_claim": "prod-dags",
        "logs_claim": "prod-logs",
        "postgres_data_claim": "prod-postgres-data",
        "api_server_service": "prod-api-server",
        "release_record": "prod-release",
        "core_secret": "prod-secrets",
        "backup_claim": "prod-backup",
        "applied_record": "prod-applied",
    }
    assert names["dags_claim"] == names["claim_prefix"] + "dags"


@pytest.mark.parametrize("bad", ["", None, 3])
def test_object_names_refuses_no_instance(bad) -> None:
    with pytest.raises(ValueError):
        object_names(bad)
