# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""When kube_apply and kube_read make their API calls in ansible-playbook's process (kube_local.usable), and what
both paths share: the kubeconfig (a vault-encrypted one decrypted) and the API server's warnings.

Both paths run side by side against a cluster in tests/cluster/test_kube_paths.py (and in the Molecule scenarios:
extensions/molecule/external_db forces the module path); these tests pin the decision itself: only a local
connection, no become, no task environment, and no AIRFLOW_K8S_KUBE_MODULES=1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

_COLLECTIONS = Path(__file__).resolve().parents[4] / ".collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import kube_local  # noqa: E402


def _action(transport="local", environment=None, become=False, loader=None):
    return SimpleNamespace(_connection=SimpleNamespace(transport=transport),
                           _task=SimpleNamespace(environment=environment, become=become),
                           _play_context=SimpleNamespace(become=become), _loader=loader)


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
    _action(become=True),
], ids=["ssh", "docker", "task-environment", "second-environment", "become"])
def test_other_connections_or_an_environment_keep_the_modules(action):
    assert kube_local.usable(action) is False


def test_the_override_keeps_the_modules(monkeypatch):
    monkeypatch.setenv("AIRFLOW_K8S_KUBE_MODULES", "1")
    assert kube_local.usable(_action()) is False


def test_a_missing_client_keeps_the_modules(monkeypatch):
    monkeypatch.setattr(kube_local, "IMPORT_ERROR", ImportError("No module named 'kubernetes'"))
    assert kube_local.usable(_action()) is False


def test_become_set_on_the_play_context_only_keeps_the_modules():
    action = _action()
    action._play_context.become = True
    assert kube_local.usable(action) is False


# What kube-apiserver sends for a Pod that Pod Security's `warn` level would refuse (one Warning header per
# warning; the text holds ", " and escaped quotes), and a deprecation warning.
POD_SECURITY = ('299 - "would violate PodSecurity \\"restricted:latest\\": allowPrivilegeEscalation != false '
                '(container \\"c\\" must set securityContext.allowPrivilegeEscalation=false), runAsNonRoot != true '
                '(pod or container \\"c\\" must set securityContext.runAsNonRoot=true)"')
DEPRECATED = '299 - "batch/v1beta1 CronJob is deprecated in v1.21+, unavailable in v1.25+"'
POD_SECURITY_TEXT = ('would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false '
                     '(container "c" must set securityContext.allowPrivilegeEscalation=false), runAsNonRoot != true '
                     '(pod or container "c" must set securityContext.runAsNonRoot=true)')


def test_response_warnings_reads_each_warning_header():
    from urllib3 import HTTPHeaderDict

    headers = HTTPHeaderDict()
    headers.add("Warning", POD_SECURITY)
    headers.add("Warning", DEPRECATED)
    assert kube_local.response_warnings(headers) == [
        POD_SECURITY_TEXT, "batch/v1beta1 CronJob is deprecated in v1.21+, unavailable in v1.25+"]


def test_response_warnings_reads_warnings_joined_in_one_header():
    assert kube_local.response_warnings({"warning": f"{POD_SECURITY}, {DEPRECATED}"}) == [
        POD_SECURITY_TEXT, "batch/v1beta1 CronJob is deprecated in v1.21+, unavailable in v1.25+"]
    assert kube_local.response_warnings({"warning": '299 - "text" "Sat, 06 Dec 2026 01:00:00 GMT"'}) == ["text"]


def test_no_warning_header_is_no_warning():
    from urllib3 import HTTPHeaderDict

    assert kube_local.response_warnings(HTTPHeaderDict()) == []
    assert kube_local.response_warnings(None) == []


VAULT_PASSWORD = "contract-test"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"


@pytest.fixture
def loader():
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultSecret

    data_loader = DataLoader()
    data_loader.set_vault_secrets([("default", VaultSecret(VAULT_PASSWORD.encode()))])
    yield data_loader
    data_loader.cleanup_all_tmp_files()


def _vaulted(loader, path: Path) -> Path:
    from ansible.parsing.vault import VaultLib

    vault = VaultLib(loader._vault.secrets)
    path.write_bytes(vault.encrypt(KUBECONFIG))
    return path


def test_a_vaulted_kubeconfig_is_decrypted_for_the_task_then_removed(loader, tmp_path):
    vaulted = _vaulted(loader, tmp_path / "kubeconfig.vault")
    assert vaulted.read_text().startswith("$ANSIBLE_VAULT")
    with kube_local.Kubeconfigs(_action(loader=loader)) as kubeconfigs:
        args = kubeconfigs.resolve({"kubeconfig": str(vaulted), "context": "x"})
        plain = args["kubeconfig"]
        assert plain != str(vaulted) and args["context"] == "x"
        assert Path(plain).read_text() == KUBECONFIG
        assert kubeconfigs.resolve({"kubeconfig": str(vaulted)})["kubeconfig"] == plain  # once per task
    assert not Path(plain).exists()


def test_plain_remote_and_in_memory_kubeconfigs_pass_as_given(loader, tmp_path):
    plain = tmp_path / "kubeconfig"
    plain.write_text(KUBECONFIG)
    vaulted = _vaulted(loader, tmp_path / "kubeconfig.vault")
    with kube_local.Kubeconfigs(_action(loader=loader)) as kubeconfigs:
        assert kubeconfigs.resolve({"kubeconfig": str(plain)}) == {"kubeconfig": str(plain)}
        assert kubeconfigs.resolve({"kubeconfig": {"clusters": []}}) == {"kubeconfig": {"clusters": []}}
        assert kubeconfigs.resolve({"kubeconfig": "/does/not/exist"}) == {"kubeconfig": "/does/not/exist"}
        assert kubeconfigs.resolve({}) == {}
        merged = kubeconfigs.resolve({"kubeconfig": f"{plain}{os.pathsep}{vaulted}"})["kubeconfig"].split(os.pathsep)
        assert merged[0] == str(plain) and Path(merged[1]).read_text() == KUBECONFIG
    with kube_local.Kubeconfigs(_action(transport="ssh", loader=loader)) as kubeconfigs:
        # On another host the path names that host's file: kubernetes.core's action leaves it alone too.
        assert kubeconfigs.resolve({"kubeconfig": str(vaulted)}) == {"kubeconfig": str(vaulted)}


def test_auth_args_refuses_what_the_module_would_refuse():
    with pytest.raises(kube_local.KubeError, match="validate_certs"):
        kube_local.auth_args({"validate_certs": "perhaps"})


def test_owned_as_applied_makes_the_creating_entry_an_apply_of_the_field_manager():
    created = {"metadata": {"managedFields": [
        {"manager": "airflow-k8s-create-1a2b", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:data": {"f:a": {}}}},
        {"manager": "kubectl", "operation": "Update", "apiVersion": "v1", "subresource": "status",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}},
    ]}}
    fields = kube_local.owned_as_applied(created, "airflow-k8s-create-1a2b", "airflow-k8s")
    assert fields[0] == {"manager": "airflow-k8s", "operation": "Apply", "apiVersion": "v1",
                         "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}}
    assert fields[1] == created["metadata"]["managedFields"][1], "another manager's entry is kept as it is"


def test_owned_as_applied_turns_a_create_update_into_an_apply():
    created = {"metadata": {"managedFields": [
        {"manager": "airflow-k8s", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:data": {"f:a": {}}}}]}}
    assert [(e["manager"], e["operation"]) for e in kube_local.owned_as_applied(created, "airflow-k8s", "airflow-k8s")] \
        == [("airflow-k8s", "Apply")]
    assert kube_local.owned_as_applied({"metadata": {}}, "airflow-k8s", "airflow-k8s") == []
