"""Live: a worker pod holds no secret, and task code reaches what it needs through the execution API only.

Runs against a converged instance (the default Molecule scenario's verify runs it through
extensions/molecule/default/verify_workers.yml; by hand see tests/live/README.md). Needs pytest-testinfra (its kubectl
backend runs the checks inside the running worker pod), cryptography, kubectl and a kubeconfig with the rights of
the playbooks (it reads the instance's Secrets to know what must not leak). Environment:
  AIRFLOW_K8S_NAMESPACE  the namespace (required)
  AIRFLOW_K8S_INSTANCE   the instance (default airflow)
  AIRFLOW_K8S_API_URL    the api-server's address (default: http://<first node's InternalIP>:<the Service's nodePort>)
The DAG is playbooks/files/dags/worker_isolation.py. Secret values are compared in this process, never printed.
"""

from __future__ import annotations

import base64
import configparser
import hashlib
import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

testinfra = pytest.importorskip("testinfra")

DAG_ID = "worker_isolation"
CONNECTION_ID = "worker_isolation_probe"
SECRET_ENV = ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
              "AIRFLOW__API__SECRET_KEY")
SECRET_CFG = (("core", "fernet_key"), ("database", "sql_alchemy_conn"), ("api", "secret_key"), ("api_auth", "jwt_secret"))
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
HOLD_SECONDS = int(os.environ.get("AIRFLOW_K8S_HOLD_SECONDS", "150"))
# The DAG's RELEASE_FILE (playbooks/files/dags/worker_isolation.py): the task hold ends once it exists in its pod.
RELEASE_FILE = "/tmp/worker-isolation-release"
TIMEOUT = int(os.environ.get("AIRFLOW_K8S_RUN_TIMEOUT", "900"))

NAMESPACE = os.environ.get("AIRFLOW_K8S_NAMESPACE", "")
INSTANCE = os.environ.get("AIRFLOW_K8S_INSTANCE", "airflow")

pytestmark = pytest.mark.skipif(not NAMESPACE, reason="AIRFLOW_K8S_NAMESPACE is not set (a live test)")


def kubectl_json(*args: str) -> Any:
    out = subprocess.run(["kubectl", "-n", NAMESPACE, *args, "-o", "json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def secret_value(name: str, key: str) -> str:
    data = kubectl_json("get", "secret", name)["data"] or {}
    return base64.b64decode(data[key]).decode()


def env_ref(container: dict, env_name: str) -> dict:
    return next(e["valueFrom"]["secretKeyRef"] for e in container["env"] if e["name"] == env_name)


class Api:
    def __init__(self, base: str, username: str, password: str) -> None:
        self.base = base.rstrip("/")
        token = self.call("POST", "/auth/token", {"username": username, "password": password}, auth=False)
        self.headers = {"Authorization": f"Bearer {token['access_token']}"}

    def call(self, method: str, path: str, body: Any = None, auth: bool = True, ok: tuple[int, ...] = (200, 201, 204)) -> Any:
        request = urllib.request.Request(self.base + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json", "Accept": "application/json",
                                                  **(self.headers if auth else {})})
        deadline = time.time() + 180  # an api-server restarting under load refuses connections for a while
        while True:
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    raw, status = response.read(), response.status
                break
            except urllib.error.HTTPError as exc:
                raw, status = exc.read(), exc.code
                if status not in (502, 503) or time.time() > deadline:
                    break
            except (urllib.error.URLError, TimeoutError, ConnectionError):
                if time.time() > deadline:
                    raise
            time.sleep(5)
        if status not in ok:
            raise AssertionError(f"{method} {path} answered {status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def instance() -> dict[str, Any]:
    """What the instance's own objects say: where each secret comes from (the api-server's env: generated or the
    user's own Secrets), their values (to look for them, never printed), the database host, the API address."""
    api_server = kubectl_json("get", "deployment", f"{INSTANCE}-api-server")["spec"]["template"]["spec"]
    main = next(c for c in api_server["containers"] if c["name"] == "api-server")
    auth_init = next(c for c in api_server.get("initContainers") or [] if c["name"] == "auth-passwords")
    values = {name: secret_value(**env_ref(main, name)) for name in SECRET_ENV}
    admin = env_ref(auth_init, "AIRFLOW_K8S_ADMIN_PASSWORD")
    values["admin password"] = secret_value(**admin)
    db = urllib.parse.urlsplit(values["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    values["database password"] = urllib.parse.unquote(db.password or "")
    url = os.environ.get("AIRFLOW_K8S_API_URL", "")
    if not url:
        node = kubectl_json("get", "nodes")["items"][0]
        address = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        port = kubectl_json("get", "service", f"{INSTANCE}-api-server")["spec"]["ports"][0]["nodePort"]
        url = f"http://{address}:{port}"
    username = next(e["value"] for e in auth_init["env"] if e["name"] == "AIRFLOW_K8S_ADMIN_USERNAME")
    return {"values": {k: v for k, v in values.items() if v}, "db_host": db.hostname, "db_port": db.port or 5432,
            "api": Api(url, username, values["admin password"]), "fernet_key": values["AIRFLOW__CORE__FERNET_KEY"]}


@pytest.fixture(scope="module")
def run(instance: dict[str, Any]) -> dict[str, Any]:
    """A connection made through the REST API, then a run of the DAG with what its probes need."""
    from cryptography.fernet import Fernet

    api: Api = instance["api"]
    password = secrets.token_urlsafe(24)
    api.call("DELETE", f"/api/v2/connections/{CONNECTION_ID}", ok=(204, 404))
    api.call("POST", "/api/v2/connections", {"connection_id": CONNECTION_ID, "conn_type": "generic",
                                             "host": "probe.example", "login": "probe", "password": password})
    deadline = time.time() + 180  # the dag-processor looks for new files every 30 s
    while api.call("GET", f"/api/v2/dags/{DAG_ID}", ok=(200, 404)) is None:
        assert time.time() < deadline, f"DAG {DAG_ID} did not appear (is playbooks/files/dags on the DAG volume?)"
        time.sleep(5)
    api.call("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    token = Fernet(instance["fernet_key"].split(",")[0].encode()).encrypt(b"worker isolation").decode()
    dag_run = api.call("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {
        "hold_seconds": HOLD_SECONDS, "db_host": instance["db_host"], "db_port": instance["db_port"],
        "secret_name": f"{INSTANCE}-secrets", "fernet_token": token, "connection_id": CONNECTION_ID}})
    return {"run_id": dag_run["dag_run_id"], "password_sha256": hashlib.sha256(password.encode()).hexdigest()}


def _hold_pod(run_id: str) -> dict:
    deadline = time.time() + TIMEOUT
    while True:
        pods = kubectl_json("get", "pods", "-l", f"dag_id={DAG_ID},task_id=hold")["items"]
        mine = [p for p in pods if (p["metadata"].get("annotations") or {}).get("run_id") == run_id]
        running = [p for p in mine if p["status"].get("phase") == "Running"]
        if running:
            return running[0]
        assert time.time() < deadline, f"no Running worker pod for task hold of run {run_id}: {[p['status'].get('phase') for p in mine]}"
        time.sleep(3)


@pytest.fixture(scope="module")
def worker(run: dict[str, Any]) -> dict[str, Any]:
    pod = _hold_pod(run["run_id"])
    host = testinfra.get_host(f"kubectl://{pod['metadata']['name']}?container=base&namespace={NAMESPACE}")
    return {"pod": pod, "host": host}


def test_worker_pod_spec_references_no_secret(worker: dict[str, Any]) -> None:
    spec = worker["pod"]["spec"]
    assert spec.get("automountServiceAccountToken") is False
    assert not [v["name"] for v in spec.get("volumes") or [] if "secret" in v or "projected" in v]
    for c in spec.get("initContainers", []) + spec["containers"]:
        assert not [e["name"] for e in c.get("env") or [] if "secretKeyRef" in (e.get("valueFrom") or {})], c["name"]
        assert not [s for s in c.get("envFrom") or [] if "secretRef" in s], c["name"]


def test_no_secret_in_the_environment(worker: dict[str, Any], instance: dict[str, Any]) -> None:
    host = worker["host"]
    environ = host.run("cat /proc/[0-9]*/environ").stdout
    names = {entry.split("=", 1)[0] for entry in environ.split("\0") if "=" in entry}
    assert not sorted(n for n in names if n.removesuffix("_CMD").removesuffix("_SECRET") in SECRET_ENV)
    leaked = [which for which, value in instance["values"].items() if value in environ]
    assert not leaked, f"the worker's processes hold the values of: {leaked}"


def test_no_token_or_secret_file(worker: dict[str, Any], instance: dict[str, Any]) -> None:
    host = worker["host"]
    assert not host.file(TOKEN_DIR).exists, f"{TOKEN_DIR} exists: a service account token is mounted"
    assert not host.file("/var/run/secrets").exists
    assert not host.file("/opt/airflow/db-ca").exists
    mounts = host.file("/proc/self/mounts").content_string.splitlines()
    secret_mounts = [m.split()[1] for m in mounts if m.split()[2] == "tmpfs" and m.split()[1].startswith(("/opt", "/var/run"))]
    assert not secret_mounts, f"tmpfs (Secret) mounts: {secret_mounts}"
    listing = host.run("find /opt/airflow -xdev -maxdepth 2 -type f -size -1M -not -path '*/logs/*'").stdout.split()
    leaked = []
    for path in listing:
        content = host.file(path).content_string if host.file(path).is_file else ""
        leaked += [f"{which} in {path}" for which, value in instance["values"].items() if value in content]
    assert not leaked, f"secret values in files: {leaked}"


def test_airflow_cfg_holds_no_secret_but_finds_the_execution_api(worker: dict[str, Any]) -> None:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(worker["host"].file("/opt/airflow/airflow.cfg").content_string)
    assert not [f"{s}.{k}" for s, k in SECRET_CFG if cfg.has_option(s, k)]
    assert cfg.get("core", "execution_api_server_url").endswith("/execution/")


def _wait_for_run(api: Api, run_id: str) -> dict:
    deadline = time.time() + TIMEOUT
    while True:
        state = api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id, safe='')}")["state"]
        if state in ("success", "failed"):
            return api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances")
        assert time.time() < deadline, f"run {run_id} still {state} after {TIMEOUT}s"
        time.sleep(5)


def _xcom(api: Api, run_id: str, task_id: str) -> Any:
    quoted = urllib.parse.quote(run_id, safe="")
    entry = api.call("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted}/taskInstances/{task_id}/xcomEntries/return_value")
    value = entry["value"]
    return json.loads(value) if isinstance(value, str) and value.startswith("{") else value


@pytest.fixture(scope="module")
def finished(worker: dict[str, Any], run: dict[str, Any], instance: dict[str, Any]) -> dict[str, str]:
    """Waits (after the pod checks, which need the hold task running) for the run to end; task states by id. The pod
    checks are done by then: creating the DAG's release file in the pod ends the task hold at once, instead of after
    HOLD_SECONDS (when the pod has already ended, the exec fails, which is fine)."""
    worker["host"].run(f"touch {RELEASE_FILE}")
    tis = _wait_for_run(instance["api"], run["run_id"])
    return {ti["task_id"]: ti["state"] for ti in tis["task_instances"]}


def test_every_task_succeeds(finished: dict[str, str]) -> None:
    assert finished == {"hold": "success", "cannot_reach_secrets": "success", "reads_connection": "success",
                        "defers": "success"}


def test_task_code_cannot_reach_the_secrets(finished: dict[str, str], run: dict[str, Any], instance: dict[str, Any]) -> None:
    probes = _xcom(instance["api"], run["run_id"], "cannot_reach_secrets")
    print(json.dumps(probes, indent=1))
    assert probes["database"].startswith(("blocked", "reachable, refused without credentials")), probes["database"]
    assert probes["kubernetes_secret"].startswith(("blocked", "refused")), probes["kubernetes_secret"]
    assert probes["fernet"].startswith(("no fernet key", "the configured key is not")), probes["fernet"]


def test_task_reads_a_connection_made_through_the_rest_api(
        finished: dict[str, str], run: dict[str, Any], instance: dict[str, Any]) -> None:
    got = _xcom(instance["api"], run["run_id"], "reads_connection")
    assert got["conn_id"] == CONNECTION_ID and got["host"] == "probe.example" and got["login"] == "probe"
    assert got["password_sha256"] == run["password_sha256"], "the connection's password did not reach the task"
