"""What the roles do before they can trust a read of the cluster: an unreachable cluster fails the first read with a
message that says so, and the secrets tasks refuse to run without that read.

The roles' first reads fetch Secrets, so they run with no_log, which would hide a failure's message as well
(Ansible shows only "censored"). They use kube_read's ``errors: return`` and fail in a next task that shows the
error. No cluster is needed: the kubeconfig points at a port where nothing listens.
"""

from __future__ import annotations

from pathlib import Path

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
    assert "airflow_db could not read namespace airflow of the cluster" in out, out[-3000:]
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
