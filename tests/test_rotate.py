"""Secret rotation without a cluster: the Job `airflow rotate-fernet-key` as the rotate entry point renders it
(Pod Security restricted, the labels the NetworkPolicies need, no Kubernetes API token, the components' env), and
playbooks/rotate.yml refusing bad input before it reads or changes anything. The live proof is
extensions/molecule/day2/rotate_check.yml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lib import pss
from lib.ansible_run import RunResult, run_playbook

# Renders the Job template with the role's defaults and vars (include_role public) for inventories/local.
RENDER_JOB = """
- name: Render the fernet rotation Job
  hosts: airflow
  gather_facts: false
  tasks:
    - name: Load airflow_core's defaults and vars (the preflight entry point checks the input)
      ansible.builtin.include_role:
        name: airflow_k8s.platform.airflow_core
        tasks_from: preflight
        public: true
    - name: Write the Job
      ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', role_dir ~ '/templates/rotate/job.yaml.j2') }}"
        dest: "{{ job_file }}"
        mode: "0644"
      delegate_to: localhost
"""

ROLE_DIR = Path(__file__).resolve().parents[1] / "roles" / "airflow_core"


@pytest.fixture(scope="module")
def fernet_job(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("rotate")
    playbook = tmp / "render_job.yml"
    playbook.write_text(RENDER_JOB)
    job_file = tmp / "job.yaml"
    result = run_playbook(str(playbook), "local", render_dir=tmp / "render",
                          extra_vars={"role_dir": str(ROLE_DIR), "job_file": str(job_file)}, timeout=300)
    assert result.returncode == 0, result.describe()
    return yaml.safe_load(job_file.read_text())


def test_fernet_job_meets_restricted(fernet_job: dict[str, Any]) -> None:
    assert fernet_job["kind"] == "Job"
    assert pss.pods_in(fernet_job), "no pod spec found in the Job"
    violations = pss.check_objects([fernet_job])
    assert not violations, "\n".join(str(v) for v in violations)


def test_fernet_job_reaches_the_database_without_an_api_token(fernet_job: dict[str, Any]) -> None:
    pod = fernet_job["spec"]["template"]
    labels = pod["metadata"]["labels"]
    # The NetworkPolicies: default deny selects the instance label; db-clients lets db-client pods reach Postgres.
    assert labels.get("airflow-k8s.io/db-client") == "true", labels
    assert labels.get("app.kubernetes.io/instance") == "airflow", labels
    assert labels.get("app.kubernetes.io/component") == "rotate-fernet-key", labels
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in spec, "the Job runs as `default` (docs/security.md): no RBAC"
    assert spec["restartPolicy"] == "Never"
    (c,) = spec["containers"]
    assert c["args"] == ["airflow", "rotate-fernet-key"]
    env = {e["name"]: e for e in c["env"]}
    assert env["AIRFLOW__CORE__FERNET_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "airflow-secrets", "key": "fernet-key"}
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["valueFrom"]["secretKeyRef"] == {
        "name": "airflow-metadata-db", "key": "connection"}
    # airflow.cfg and the external database's CA, as the components have them; no DAG or log volume.
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts == {"config": "/opt/airflow/airflow.cfg", "db-ca": "/opt/airflow/db-ca"}, mounts


def _rotate(tmp: Path, name: str, extra_vars: dict[str, Any]) -> RunResult:
    # render_dir: the preflight play needs no cluster; the rotate entry points refuse render mode among their checks.
    return run_playbook("playbooks/rotate.yml", "local", render_dir=tmp / name, extra_vars=extra_vars, timeout=300)


def test_rotate_reports_every_bad_core_input_at_once(tmp_path: Path) -> None:
    result = _rotate(tmp_path, "core", {
        "airflow_core_rotate": ["admin_password", "jwt_secret"],
        "airflow_core_admin_password": "an-inventory-password",
        "airflow_core_rotate_drain_timeout": -1,
    })
    assert result.returncode != 0, result.describe()
    out = result.output
    for phrase in ("needs airflow_core_rotate_id", "airflow_core_admin_password is set",
                   "airflow_core_rotate_drain_timeout=-1", "airflow_core_render_dir=", "4 input errors"):
        assert phrase in out, f"{phrase!r} not in:\n{result.tail()}"
    assert "an-inventory-password" not in out


def test_rotate_refuses_a_database_rotation_of_the_in_cluster_postgres(tmp_path: Path) -> None:
    result = _rotate(tmp_path, "db", {"airflow_db_rotate": ["password"], "airflow_core_rotate_id": "x"})
    assert result.returncode != 0, result.describe()
    for phrase in ('airflow_db_rotate=["password"] needs airflow_db_mode external', "ALTER USER"):
        assert phrase in result.output, f"{phrase!r} not in:\n{result.tail()}"


def test_rotate_refuses_a_bad_rotation_id(tmp_path: Path) -> None:
    result = _rotate(tmp_path, "id", {"airflow_core_rotate": ["fernet_key"], "airflow_core_rotate_id": "two words"})
    assert result.returncode != 0, result.describe()
    assert 'airflow_core_rotate_id="two words" is not a rotation id' in result.output, result.tail()
