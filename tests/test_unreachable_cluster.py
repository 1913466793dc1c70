"""site.yml against a cluster it cannot reach: the first read fails with a message that says so.

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
