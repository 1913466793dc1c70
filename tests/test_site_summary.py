"""site.yml ends with a summary for the operator: where the UI answers, the admin user, where the password is kept
(the Secret and the command to read it), never the password itself.

The summary is the last task of playbooks/core.yml (tags core and airflow_summary), a debug task that reads only
variables. `--tags airflow_summary --skip-tags always` runs that task alone, with the roles' variables loaded
as in a real run and no cluster. Which tags select it is read from --list-tasks.
"""

from __future__ import annotations

import re

import pytest

from lib.ansible_run import run_playbook

SITE = "playbooks/site.yml"
SUMMARY_TASK = "Say where Airflow answers and how to sign in"
ONLY_SUMMARY = ["--tags", "airflow_summary", "--skip-tags", "always"]
SECRET_CMD = re.compile(
    r"Password: key admin-password of Secret (?P<secret>[a-z0-9-]+): kubectl .*-n (?P<ns>[a-z0-9-]+) get secret "
    r"(?P=secret) -o jsonpath='\{\.data\.admin-password\}' \| base64 -d")


def _summary(inventory: str, extra_vars: dict | None = None) -> str:
    result = run_playbook(SITE, inventory, extra_vars=extra_vars, extra_args=ONLY_SUMMARY, timeout=300)
    assert result.returncode == 0, result.describe()
    out = result.output
    assert f"TASK [{SUMMARY_TASK}]" in out and "UI and REST API:" in out, result.describe()
    return out


@pytest.mark.parametrize(("inventory", "ui"), [
    ("local", "UI and REST API: http://<address of any node>:30080 (NodePort; node addresses: kubectl"),
    ("staging", "UI and REST API: https://airflow.staging.example.com/ (Ingress airflow-api-server)"),
    ("production", "UI and REST API: http://airflow.example.com/ (Ingress airflow-api-server)"),
])
def test_summary_of_each_sample_inventory(inventory: str, ui: str) -> None:
    out = _summary(inventory)
    assert ui in out, out[-3000:]
    assert "Sign in as admin." in out, out[-3000:]
    match = SECRET_CMD.search(out)
    assert match and match["secret"] == "airflow-secrets", out[-3000:]
    # the production sample's admin password comes from its vault: never printed
    assert "example-admin-password-CHANGE-ME" not in out


@pytest.mark.parametrize(("api_server", "ui"), [
    ({"service_type": "ClusterIP"},
     r"run `kubectl .*-n team-a port-forward service/etl-api-server 8080:8080`, then open http://localhost:8080"),
    ({"service_type": "NodePort", "node_port": 0},
     r"http://<address of any node>:<node port> \(NodePort; the port: kubectl .*-n team-a get "
     r"service/etl-api-server -o jsonpath='\{\.spec\.ports\[0\]\.nodePort\}'\)"),
    ({"service_type": "LoadBalancer"},
     r"http://<load balancer address>:8080 \(the address: kubectl .*-n team-a get service/etl-api-server"),
])
def test_summary_follows_the_api_server_service(api_server: dict, ui: str) -> None:
    password = "a-password-nobody-may-see-42"
    out = _summary("local", {"airflow_namespace": "team-a", "airflow_instance": "etl",
                             "airflow_core_api_server": api_server, "airflow_core_admin_username": "ops",
                             "airflow_core_admin_password": password})
    assert re.search(ui, out), out[-3000:]
    assert "Sign in as ops." in out, out[-3000:]
    match = SECRET_CMD.search(out)
    assert match and match["secret"] == "etl-secrets" and match["ns"] == "team-a", out[-3000:]
    assert password not in out


def test_summary_for_a_custom_auth_manager_names_no_user() -> None:
    out = _summary("local", {"airflow_core_auth_manager": "custom"})
    assert "Sign in through the auth manager set in airflow_core_config" in out, out[-3000:]
    assert "Sign in as" not in out and "Password:" not in out, out[-3000:]


@pytest.mark.parametrize(("tags", "listed"), [
    ([], True), (["--tags", "core"], True), (["--tags", "db"], False), (["--tags", "namespace,storage"], False),
    (["--skip-tags", "core"], False),
])
def test_summary_runs_only_with_the_core_play(tags: list[str], listed: bool) -> None:
    result = run_playbook(SITE, "local", extra_args=["--list-tasks", *tags], timeout=120)
    assert result.returncode == 0, result.describe()
    assert (SUMMARY_TASK in result.output) == listed, result.output[-3000:]
