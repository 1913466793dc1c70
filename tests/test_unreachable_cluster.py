"""What the roles do before they can trust a read of the cluster: an unreachable cluster fails the first read with a
message that says so, and the secrets tasks refuse to run without that read.

The roles' first reads fetch Secrets, so they run with no_log, which would hide a failure's message as well
(Ansible shows only "censored"). They use kube_read's ``errors: return`` and fail in a next task that shows the
error. No cluster is needed: the kubeconfig points at a port where nothing listens.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lib.ansible_run import run_playbook

KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "nowhere", "cluster": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}}],
    "users": [{"name": "nobody", "user": {"token": "not-a-token"}}],
    "contexts": [{"name": "nowhere", "context": {"cluster": "nowhere", "user": "nobody"}}],
    "current-context": "nowhere",
}


def test_site_yml_names_the_unreachable_cluster(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(KUBECONFIG))
    result = run_playbook("playbooks/site.yml", "local", extra_vars={"airflow_kubeconfig": str(kubeconfig)},
                          timeout=300)
    out = result.output
    assert result.returncode != 0, out[-3000:]
    # the first read of the namespace: the check for another instance (roles/airflow_core/tasks/preflight_instances.yml)
    assert "airflow_core could not read namespace airflow of the cluster" in out, out[-3000:]
    assert "check the kubeconfig" in out and "127.0.0.1" in out, out[-3000:]
    assert "censored" not in out, out[-3000:]
    assert "changed=0" in out, out[-3000:]


def test_secrets_tasks_refuse_to_run_without_the_read(tmp_path: Path) -> None:
    """tasks_from: secrets without observe first would generate every secret again: it must refuse instead."""
    playbook = tmp_path / "secrets-only.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "secrets without the read", "hosts": "airflow", "gather_facts": False,
        "tasks": [{"name": "Generated secrets", "ansible.builtin.include_role": {
            "name": "airflow_k8s.platform.airflow_core", "tasks_from": "secrets"}}],
    }]))
    result = run_playbook(str(playbook), "local", timeout=300)
    out = result.output
    assert result.returncode != 0, out[-3000:]
    assert "need observe.yml first" in out and "generated again" in out, out[-3000:]
    assert "changed=0" in out, out[-3000:]


# ------------------------------------------------------------------ the cluster connection from K8S_AUTH_* (AWX)
# AWX's Kubernetes credentials reach a job as K8S_AUTH_* variables only. The staging sample sets no
# airflow_kubeconfig, so kubernetes.core's own lookup applies, on both paths: the in-process one (kube_read, kube_apply
# through plugins/plugin_utils/kube_local.py) and the modules (AIRFLOW_K8S_KUBE_MODULES=1 forces them). $KUBECONFIG
# points nowhere: a server named in the error came from K8S_AUTH_*.
AUTH_CASES = {
    "kubeconfig": ({"K8S_AUTH_KUBECONFIG": "<kubeconfig>"}, "port=1"),
    "host-and-token": ({"K8S_AUTH_HOST": "https://127.0.0.1:2", "K8S_AUTH_API_KEY": "not-a-token",
                        "K8S_AUTH_VERIFY_SSL": "false"}, "port=2"),
}
PATHS = {"in-process": "0", "modules": "1"}


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("case", sorted(AUTH_CASES))
def test_k8s_auth_environment_reaches_the_cluster_calls(tmp_path: Path, case: str, path: str) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(KUBECONFIG))
    variables, server = AUTH_CASES[case]
    env = {key: str(kubeconfig) if value == "<kubeconfig>" else value for key, value in variables.items()}
    env.update(KUBECONFIG=str(tmp_path / "absent"), AIRFLOW_K8S_KUBE_MODULES=PATHS[path])
    for unset in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY", "K8S_AUTH_CONTEXT"):
        env.setdefault(unset, None)
    # -vvv shows a module's AnsiballZ file: whether kube_read ran as a module or in this process
    result = run_playbook("playbooks/site.yml", "staging", env=env, extra_args=["--skip-tags", "storage", "-vvv"],
                          timeout=300)
    out = result.output
    assert result.returncode != 0, out[-3000:]
    assert "airflow_core could not read namespace airflow-staging" in out, out[-3000:]
    assert f"host='127.0.0.1', {server}" in out, out[-3000:]
    assert ("AnsiballZ_kube_read" in out) == (path == "modules"), out[-3000:]


def test_k8s_auth_kubeconfig_reaches_the_first_cluster_read(tmp_path: Path) -> None:
    """The whole staging run: its first cluster read (today storage_nfs's kube_read) uses it too."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(KUBECONFIG))
    env = {"K8S_AUTH_KUBECONFIG": str(kubeconfig), "KUBECONFIG": str(tmp_path / "absent"),
           "K8S_AUTH_HOST": None, "K8S_AUTH_API_KEY": None, "K8S_AUTH_CONTEXT": None}
    result = run_playbook("playbooks/site.yml", "staging", env=env, timeout=300)
    out = result.output
    assert result.returncode != 0, out[-3000:]
    assert "host='127.0.0.1', port=1" in out, out[-3000:]
