"""Worker isolation: what task code in a worker pod can and cannot reach (tests/live/test_worker_isolation.py).

Worker pods hold no secret (docs/security.md, "Which component holds which secret"). Triggered with conf:
  hold_seconds   how long the task `hold` sleeps at most, so a test can look inside its running pod (default 120); a
                 test done with the pod ends it sooner by creating the file RELEASE_FILE in it (kubectl exec ... touch)
  db_host        the metadata database's host, db_port its port: `cannot_reach_secrets` must fail to use it
  secret_name    a Secret of the namespace that task code must not read through the Kubernetes API
  fernet_token   a value encrypted with the deployment's fernet key, which task code must not decrypt
  connection_id  a connection made through the REST API, which `reads_connection` reads through the execution API
Each probe's outcome is in the task's return value (XCom); `cannot_reach_secrets` fails when a probe succeeds.
`defers` goes through the triggerer and resumes.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import socket
import ssl
import time
import urllib.error
import urllib.request

import pendulum

from airflow.sdk import BaseOperator, Param, dag, task

# A test that has seen what it needs of the running `hold` pod creates this file in it; `hold` then ends at once.
RELEASE_FILE = "/tmp/worker-isolation-release"

SECRET_ENV = (
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
)
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# The Task SDK's supervisor sets the database URL of the task process to this placeholder (it blocks the ORM).
DB_BLOCKED = "airflow-db-not-allowed:///"


def _database(host: str, port: int) -> str:
    """blocked (no TCP connection) or refused-without-credentials; raises when a session opens."""
    if not host:
        return "no database host given"
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError as exc:
        return f"blocked: {type(exc).__name__}: {exc}"
    sock.close()
    # The port answers (no NetworkPolicy, or an external database): the worker still has no credentials.
    import psycopg2

    try:
        psycopg2.connect(host=host, port=port, user="airflow", dbname="airflow", connect_timeout=5).close()
    except psycopg2.OperationalError as exc:
        return "reachable, refused without credentials: " + " ".join(str(exc).split())[:200]
    raise AssertionError(f"a database session opened on {host}:{port} without credentials")


def _kubernetes_secret(namespace: str, name: str) -> str:
    """The Secret cannot be read through the Kubernetes API: no token, and the anonymous call is refused or blocked."""
    if os.path.exists(TOKEN_DIR):
        raise AssertionError(f"{TOKEN_DIR} exists: the worker pod has a service account token")
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    url = f"https://{host}:{port}/api/v1/namespaces/{namespace}/secrets/{name}"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            raise AssertionError(f"GET {url} answered {response.status}: the Secret is readable")
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            return f"refused: HTTP {exc.code}"
        raise AssertionError(f"GET {url} answered HTTP {exc.code}, expected 401 or 403") from exc
    except OSError as exc:
        return f"blocked: {type(exc).__name__}: {exc}"


def _fernet(token: str) -> str:
    """No fernet key in the environment or airflow.cfg decrypts the deployment's ciphertext."""
    present = [name for name, value in os.environ.items() if name.startswith(SECRET_ENV) and value != DB_BLOCKED]
    if present:
        raise AssertionError(f"secret environment variables in the worker: {present}")
    from airflow.configuration import conf

    key = conf.get("core", "fernet_key", fallback="") or ""
    if not token:
        return "no token given"
    if not key:
        return "no fernet key configured"
    from cryptography.fernet import Fernet, InvalidToken, MultiFernet

    try:
        MultiFernet([Fernet(k.encode()) for k in key.split(",")]).decrypt(token.encode())
    except (InvalidToken, ValueError) as exc:
        return f"the configured key is not the deployment's: {type(exc).__name__}"
    raise AssertionError("the worker decrypted a value encrypted with the deployment's fernet key")


class DeferOnce(BaseOperator):
    """Defers to the triggerer for a few seconds, then resumes in a new worker pod: the triggerer and the deferral
    through the execution API work with the secrets docs/security.md gives them."""

    def execute(self, context):
        from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger

        self.defer(trigger=TimeDeltaTrigger(datetime.timedelta(seconds=5)), method_name="resume")

    def resume(self, context, event=None):
        return "resumed after the triggerer fired"


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["airflow-k8s", "security"],
    params={
        "hold_seconds": Param(120, type="integer", minimum=0),
        "db_host": Param("", type="string"),
        "db_port": Param(5432, type="integer"),
        "secret_name": Param("", type="string"),
        "fernet_token": Param("", type="string"),
        "connection_id": Param("worker_isolation_probe", type="string"),
    },
)
def worker_isolation():
    @task
    def hold(params=None) -> int:
        seconds = int(params["hold_seconds"])
        start = time.monotonic()
        while (elapsed := int(time.monotonic() - start)) < seconds:
            if os.path.exists(RELEASE_FILE):
                print(f"released by {RELEASE_FILE} after {elapsed}s")
                break
            if elapsed % 10 == 0:
                print(f"holding the worker pod open: {elapsed}s of {seconds}s")
            time.sleep(1)
        return seconds

    @task
    def cannot_reach_secrets(params=None) -> dict:
        from airflow.configuration import conf

        namespace = conf.get("kubernetes_executor", "namespace", fallback="default")
        result = {
            "database": _database(params["db_host"], int(params["db_port"])),
            "kubernetes_secret": _kubernetes_secret(namespace, params["secret_name"] or "airflow-secrets"),
            "fernet": _fernet(params["fernet_token"]),
        }
        for probe, outcome in result.items():
            print(f"{probe}: {outcome}")
        return result

    @task
    def reads_connection(params=None) -> dict:
        from airflow.sdk import BaseHook

        connection = BaseHook.get_connection(params["connection_id"])
        return {
            "conn_id": connection.conn_id,
            "host": connection.host,
            "login": connection.login,
            "password_sha256": hashlib.sha256((connection.password or "").encode()).hexdigest(),
        }

    hold()
    cannot_reach_secrets()
    reads_connection()
    DeferOnce(task_id="defers")


worker_isolation()
