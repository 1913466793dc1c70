# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""When kube_apply and kube_read make their API calls in ansible-playbook's process (kube_local.usable).

Both paths run against a cluster in the Molecule scenarios (extensions/molecule/external_db forces the module path); these
tests pin the decision itself: only a local connection, no task environment, and no AIRFLOW_K8S_KUBE_MODULES=1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

_COLLECTIONS = Path(__file__).resolve().parents[4] / ".collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import kube_local  # noqa: E402


def _action(transport="local", environment=None):
    return SimpleNamespace(_connection=SimpleNamespace(transport=transport),
                           _task=SimpleNamespace(environment=environment))


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    monkeypatch.delenv("AIRFLOW_K8S_KUBE_MODULES", raising=False)


def test_the_client_imports_in_this_environment():
    assert kube_local.IMPORT_ERROR is None


def test_local_connection_without_environment_calls_in_process():
    assert kube_local.usable(_action()) is True
    assert kube_local.usable(_action(environment=[])) is True
    assert kube_local.usable(_action(environment=[{}])) is True


@pytest.mark.parametrize("action", [
    _action(transport="ssh"),
    _action(transport="community.docker.docker"),
    _action(environment=[{"K8S_AUTH_PROXY": "http://proxy:3128"}]),
    _action(environment=[{}, {"HTTPS_PROXY": "http://proxy:3128"}]),
], ids=["ssh", "docker", "task-environment", "second-environment"])
def test_other_connections_or_an_environment_keep_the_modules(action):
    assert kube_local.usable(action) is False


def test_the_override_keeps_the_modules(monkeypatch):
    monkeypatch.setenv("AIRFLOW_K8S_KUBE_MODULES", "1")
    assert kube_local.usable(_action()) is False


def test_a_missing_client_keeps_the_modules(monkeypatch):
    monkeypatch.setattr(kube_local, "IMPORT_ERROR", ImportError("No module named 'kubernetes'"))
    assert kube_local.usable(_action()) is False
