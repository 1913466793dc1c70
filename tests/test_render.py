"""Render every inventory with playbooks/render.yml (no cluster) and check what would be applied.

Each inventory is rendered once per session (in parallel); the tests then read the manifests.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lib import checks, kubeval, pss
from lib.ansible_run import (
    INVENTORIES,
    RENDER_PLAYBOOK,
    REPO,
    RunResult,
    inventory_dir,
    inventory_list,
    manifest_files,
    run_playbook,
    uses_vault,
    vault_password_file,
)
from lib.specs import load_yaml
from lib.manifests import (
    Document,
    component,
    container,
    find_workload,
    load_documents,
    name,
    of_kind,
    pod_template,
    worker_pod_templates,
)

Obj = dict[str, Any]

RENDER_FILE = re.compile(r"^\d\d-[a-z0-9][a-z0-9-]*\.yaml$")
CORE_DEPLOYMENTS = ("scheduler", "api-server", "dag-processor")


# ------------------------------------------------------------------------------------------ fixtures


@dataclass
class Render:
    inventory: str
    render_dir: Path
    result: RunResult
    files: list[Path] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    load_error: str | None = None

    @property
    def objects(self) -> list[Obj]:
        return [d.obj for d in self.documents]


class Renderer:
    """Renders each inventory at most once per session; starts all the session needs at once."""

    def __init__(self, base: Path, wanted: list[str]) -> None:
        self._base = base
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(INVENTORIES)))
        self._futures: dict[str, Future[Render]] = {}
        for inventory in wanted:
            self._start(inventory)

    def _start(self, inventory: str) -> Future[Render]:
        if inventory not in self._futures:
            self._futures[inventory] = self._pool.submit(self._render, inventory)
        return self._futures[inventory]

    def _render(self, inventory: str) -> Render:
        render_dir = self._base / inventory
        render_dir.mkdir(parents=True)
        result = run_playbook(RENDER_PLAYBOOK, inventory, render_dir=render_dir)
        render = Render(inventory, render_dir, result, manifest_files(render_dir))
        try:
            render.documents = load_documents(render.files)
        except ValueError as exc:
            render.load_error = str(exc)
        return render

    def get(self, inventory: str) -> Render:
        return self._start(inventory).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


@pytest.fixture(scope="session")
def renderer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    wanted = sorted(
        {
            item.callspec.params["inventory"]
            for item in request.session.items
            if hasattr(item, "callspec") and "inventory" in item.callspec.params and "render" in item.fixturenames
        }
    )
    renderer = Renderer(tmp_path_factory.mktemp("render"), wanted)
    yield renderer
    renderer.close()


@pytest.fixture(params=INVENTORIES)
def inventory(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def render(renderer: Renderer, inventory: str) -> Render:
    """A successful render of the inventory (fails the test, with the playbook output, otherwise)."""
    rendered = renderer.get(inventory)
    if rendered.result.returncode != 0:
        pytest.fail(f"render of inventories/{inventory} failed:\n{rendered.result.describe()}", pytrace=False)
    if rendered.load_error:
        pytest.fail(rendered.load_error, pytrace=False)
    if not rendered.documents:
        pytest.fail(f"render of inventories/{inventory} wrote no manifests into {rendered.render_dir}", pytrace=False)
    return rendered


def _instance(objects: list[Obj]) -> str:
    scheduler = find_workload(objects, "Deployment", "scheduler")
    assert scheduler, "no single scheduler Deployment in the render"
    return str(scheduler["metadata"]["labels"]["app.kubernetes.io/instance"])


# ------------------------------------------------------------------------------------------ the run itself


def test_render_runs_and_writes_phase_files(render: Render) -> None:
    assert render.files, "no files written"
    badly_named = [p.name for p in render.files if not RENDER_FILE.match(p.name)]
    assert not badly_named, f"render files must be named <NN>-<phase>.yaml: {badly_named}"
    names = [p.name for p in render.files]
    assert "00-namespace.yaml" in names, names
    assert any(re.match(r"2\d-db-", n) for n in names), f"no 2x-db-* phase: {names}"
    assert any(re.match(r"3\d-core-", n) for n in names), f"no 3x-core-* phase: {names}"


def test_render_prints_no_deploy_summary(render: Render) -> None:
    """site.yml's closing summary (playbooks/core.yml) is for a deployment, not for a render."""
    assert "UI and REST API:" not in render.result.output, render.result.tail()


def test_production_inventory_opens_its_vault() -> None:
    """If production keeps secrets in ansible-vault, the example password file the tests use ships beside it."""
    if uses_vault("production"):
        assert vault_password_file("production"), (
            "inventories/production uses ansible-vault but inventories/vault-password.example is missing"
        )


def test_every_document_is_an_object(render: Render) -> None:
    problems = []
    for doc in render.documents:
        meta = doc.obj.get("metadata") or {}
        if not doc.obj.get("apiVersion") or not doc.obj.get("kind") or not meta.get("name"):
            problems.append(f"{doc.where}: needs apiVersion, kind and metadata.name")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------------ (a) schemas


def test_kubernetes_validate_ships_the_versions_we_use() -> None:
    supported = kubeval.supported_versions()
    for version in kubeval.KUBERNETES_VERSIONS:
        assert version in supported, f"kubernetes-validate has no schema for {version}: {supported}"


def test_schema_validation_can_fail() -> None:
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
           "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "a", "image": "b", "bogus": 1}]}}}}
    for version in kubeval.KUBERNETES_VERSIONS:
        assert kubeval.validate(bad, version), "an unknown field must be an error (strict mode)"
    assert kubeval.validate({"apiVersion": "example.io/v1", "kind": "Unknown", "metadata": {"name": "x"}}, "1.34.0")


@pytest.mark.parametrize("version", kubeval.KUBERNETES_VERSIONS)
def test_documents_validate_against_kubernetes(render: Render, version: str) -> None:
    errors = []
    for doc in render.documents:
        reason = kubeval.validate(doc.obj, version)
        if reason:
            errors.append(f"{doc.where}: {reason}")
        for key, pod in pss.embedded_pods(doc.obj):
            reason = kubeval.validate(pod, version)
            if reason:
                errors.append(f"{doc.where}[{key}] (embedded Pod): {reason}")
    assert not errors, f"{len(errors)} invalid for Kubernetes {version}:\n" + "\n".join(errors)


# ------------------------------------------------------------------------------------------ (b) Pod Security


def test_every_pod_meets_restricted(render: Render) -> None:
    pods = [pod for obj in render.objects for pod in pss.pods_in(obj)]
    # 3 core Deployments + migration Job + worker template at least: the check must not pass vacuously.
    assert len(pods) >= 5, f"only {len(pods)} pod specs found: {[p.name for p in pods]}"
    assert any("pod_template_file.yaml" in p.name for p in pods), "the worker pod template was not checked"
    violations = pss.check_objects(render.objects)
    assert not violations, "\n".join(str(v) for v in violations)


def test_namespace_enforces_restricted(render: Render) -> None:
    namespaces = of_kind(render.objects, "Namespace")
    assert namespaces, "no Namespace rendered"
    for ns in namespaces:
        labels = ns["metadata"].get("labels") or {}
        assert labels.get("pod-security.kubernetes.io/enforce") == "restricted", f"{name(ns)}: {labels}"
    namespaced = {(o.get("metadata") or {}).get("namespace") for o in render.objects} - {None}
    assert namespaced <= {name(ns) for ns in namespaces}, f"objects in namespaces not rendered: {namespaced}"


# ------------------------------------------------------------------------------------------ (c) Secrets


def test_secrets_are_redacted(render: Render) -> None:
    problems = checks.secret_problems(render.objects)
    assert not problems, "\n".join(problems)


SECRET_VARIABLE = re.compile(r"password|passwd|secret|token|fernet|jwt", re.IGNORECASE)


@pytest.fixture(scope="session")
def inventories() -> dict[str, RunResult]:
    """ansible-inventory --list of each inventory, once per session."""
    return {}


def _inventory(cache: dict[str, RunResult], inventory: str) -> dict[str, Any]:
    if inventory not in cache:
        cache[inventory] = inventory_list(inventory)
    result = cache[inventory]
    assert result.returncode == 0, result.describe()
    return json.loads(result.stdout)


def test_inventory_parses_cleanly(inventories: dict[str, RunResult], inventory: str) -> None:
    """Every file of the inventory folder is inventory data: no stray hosts, no parse warnings."""
    data = _inventory(inventories, inventory)
    stray = (data.get("ungrouped") or {}).get("hosts") or []
    assert not stray, f"inventories/{inventory}: hosts outside any group (a file parsed as inventory?): {stray}"
    warnings = [line for line in inventories[inventory].stderr.splitlines() if "Unable to parse" in line]
    assert not warnings, "\n".join(warnings)
    assert (data.get("airflow") or {}).get("hosts"), f"inventories/{inventory}: no host in group airflow"


def test_no_inventory_secret_reaches_the_render(render: Render, inventories: dict[str, RunResult]) -> None:
    """No secret value of the inventory (vault included), plain, URL-encoded or base64, is in any file."""
    data = _inventory(inventories, render.inventory)
    hostvars = data.get("_meta", {}).get("hostvars", {})
    secrets = {
        f"{host}.{key}": value
        for host in (data.get("airflow") or {}).get("hosts", [])
        for key, value in hostvars.get(host, {}).items()
        if SECRET_VARIABLE.search(key) and isinstance(value, str) and len(value) >= 6 and "{{" not in value
    }
    if render.inventory == "production":
        assert secrets, "production keeps its secrets in the vault: expected some to check"
    text = "\n".join(p.read_text() for p in render.files)
    leaks = []
    for where, value in secrets.items():
        forms = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value),
                 base64.b64encode(value.encode()).decode()}
        if any(form in text for form in forms):
            leaks.append(where)
    assert not leaks, f"secret values written to the render: {leaks}"


# ------------------------------------------------------------------------------------------ (d) expected objects


def test_core_objects_exist(render: Render) -> None:
    objects = render.objects
    instance = _instance(objects)
    for comp in CORE_DEPLOYMENTS:
        assert find_workload(objects, "Deployment", comp), f"no {comp} Deployment"
    assert any("db-migrate" in name(j) for j in of_kind(objects, "Job")), "no Job named *db-migrate*"
    assert worker_pod_templates(objects), "no ConfigMap with a Pod under pod_template_file.yaml"
    db_secret = next((s for s in of_kind(objects, "Secret") if name(s) == f"{instance}-metadata-db"), None)
    assert db_secret, f"no Secret {instance}-metadata-db"
    assert "connection" in (db_secret.get("data") or {}), "the DB Secret needs the key 'connection'"
    service = next((s for s in of_kind(objects, "Service") if name(s) == f"{instance}-api-server"), None)
    assert service, f"no Service {instance}-api-server"
    assert 8080 in [p.get("port") for p in service["spec"].get("ports", [])], "api-server Service must serve 8080"


def _users_own_secrets(inventory: str) -> set[tuple[str, str]]:
    """The Secrets an inventory names as the user's own (the roles refer to them and never render them): the FAB
    provider's secret, the remote logging connection, and airflow_core_existing_secrets."""
    data = load_yaml(inventory_dir(inventory) / "group_vars" / "airflow" / "main.yml") or {}
    refs = [(data.get("airflow_core_fab") or {}).get("provider_secret_ref") or {}]
    refs += [(data.get("airflow_core_remote_logging") or {}).get("connection_secret_ref") or {}]
    refs += list((data.get("airflow_core_existing_secrets") or {}).values())
    return {("Secret", ref["name"]) for ref in refs if isinstance(ref, dict) and ref.get("name")}


def test_pod_references_are_rendered(render: Render) -> None:
    """Roles agree on shared names: every claim, Secret, ConfigMap and service account a pod needs is rendered
    (or is a Secret the inventory names as the user's own)."""
    problems = (checks.dangling_reference_problems(render.objects, external=_users_own_secrets(render.inventory))
                + checks.unbindable_claim_problems(render.objects))
    assert not problems, "\n".join(problems)


def _postgres_statefulsets(objects: list[Obj]) -> list[Obj]:
    return [s for s in of_kind(objects, "StatefulSet") if "postgres" in name(s) or component(s) == "postgres"]


@pytest.mark.parametrize("inventory", ["local"])
def test_local_runs_postgres_in_cluster(render: Render) -> None:
    objects = render.objects
    assert _postgres_statefulsets(objects), "local: no Postgres StatefulSet"


@pytest.mark.parametrize("inventory", ["staging"])
def test_staging_uses_static_nfs(render: Render) -> None:
    objects = render.objects
    pvs = {name(pv): pv for pv in of_kind(objects, "PersistentVolume")}
    nfs_pvs = {n: pv for n, pv in pvs.items() if (pv.get("spec") or {}).get("nfs")}
    assert nfs_pvs, "staging: no PersistentVolume with spec.nfs"
    for pv_name, pv in nfs_pvs.items():
        spec = pv["spec"]
        assert spec["nfs"].get("server") and str(spec["nfs"].get("path", "")).startswith("/"), pv_name
        assert spec.get("mountOptions"), f"{pv_name}: NFS PV without mountOptions"
        assert "ReadWriteMany" in spec.get("accessModes", []), f"{pv_name}: not ReadWriteMany"
        assert spec.get("persistentVolumeReclaimPolicy") == "Retain", f"{pv_name}: reclaim policy must be Retain"
    pinned = [c for c in of_kind(objects, "PersistentVolumeClaim") if (c.get("spec") or {}).get("volumeName")]
    assert pinned, "staging: no PersistentVolumeClaim with volumeName"
    for claim in pinned:
        spec = claim["spec"]
        assert spec.get("storageClassName") == "", f"{name(claim)}: static binding needs storageClassName: \"\""
        assert spec["volumeName"] in pvs, f"{name(claim)}: volumeName {spec['volumeName']} is not rendered"
    bound = {c["spec"]["volumeName"] for c in pinned}
    assert set(nfs_pvs) <= bound, f"NFS PVs no claim pins: {set(nfs_pvs) - bound}"


@pytest.mark.parametrize("inventory", ["production"])
def test_production_uses_portworx_and_external_db(render: Render) -> None:
    objects = render.objects
    instance = _instance(objects)
    classes = of_kind(objects, "StorageClass")
    assert classes, "production: no StorageClass"
    for sc in classes:
        assert sc.get("provisioner") == "pxd.portworx.com", f"{name(sc)}: provisioner {sc.get('provisioner')}"
    class_names = {name(sc) for sc in classes}
    claims = of_kind(objects, "PersistentVolumeClaim")
    assert claims, "production: no PersistentVolumeClaim"
    for claim in claims:
        assert claim["spec"].get("storageClassName") in class_names, f"{name(claim)}: not on a rendered Portworx class"
    assert not _postgres_statefulsets(objects), "production uses an external DB: no Postgres StatefulSet expected"
    assert any(name(s) == f"{instance}-metadata-db-ca" for s in of_kind(objects, "Secret")), (
        f"production: no Secret {instance}-metadata-db-ca"
    )


# ------------------------------------------------------------------------------------------ (e) worker template


def test_worker_template_matches_scheduler(render: Render) -> None:
    problems = checks.worker_template_problems(render.objects)
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------------ (e2) secrets per component

SECURITY_DOC = REPO / "docs" / "security.md"
SECRET_ENV_OF = {
    "database URL": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "async database URL": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC",
    "fernet key": "AIRFLOW__CORE__FERNET_KEY",
    "JWT secret": "AIRFLOW__API_AUTH__JWT_SECRET",
    "API secret key": "AIRFLOW__API__SECRET_KEY",
    "admin password": "AIRFLOW_K8S_ADMIN_PASSWORD",  # the api-server's init container (simple or FAB auth manager)
    "sign-in provider secret": "AIRFLOW_K8S_FAB_PROVIDER_SECRET",  # FAB: OIDC client secret / LDAP bind password
    # airflow_core_remote_logging.connection_secret_ref: AIRFLOW_CONN_<[logging] remote_log_conn_id, upper case>
    "remote logging connection": "AIRFLOW_CONN_*",
}
SECRETS_IN_CFG = (("core", "fernet_key"), ("database", "sql_alchemy_conn"), ("database", "sql_alchemy_conn_async"),
                  ("api", "secret_key"), ("api_auth", "jwt_secret"))


def secrets_table() -> dict[str, dict[str, bool]]:
    """docs/security.md's table "Which component holds which secret": pod -> secret -> holds it."""
    text = SECURITY_DOC.read_text()
    body = text.split("<!-- BEGIN SECRETS -->", 1)[1].split("<!-- END SECRETS -->", 1)[0]
    table: dict[str, dict[str, bool]] = {}
    for line in body.strip().splitlines()[2:]:
        pod, secret, holds, _why = (cell.strip() for cell in line.strip().strip("|").split("|", 3))
        assert holds in ("yes", "no") and secret in SECRET_ENV_OF, f"docs/security.md: bad row {line!r}"
        table.setdefault(pod, {})[secret] = holds == "yes"
    return table


def test_secrets_table_covers_every_pod_and_secret() -> None:
    table = secrets_table()
    assert set(table) == {"scheduler", "api-server", "dag-processor", "triggerer", "worker", "db-clean"}
    assert all(set(row) == set(SECRET_ENV_OF) for row in table.values())
    assert not any(table["worker"].values()), "worker pods hold no secret"


def _pod_secret_envs(spec: Obj) -> set[str]:
    """Environment variables from Secrets in any container of a pod, and the plain ones that carry a secret."""
    names: set[str] = set()
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        names |= {e["name"] for e in c.get("env") or [] if "secretKeyRef" in (e.get("valueFrom") or {})}
        names |= checks.secret_env_names(c)
    return names


def test_each_component_holds_only_the_secrets_of_the_table(render: Render) -> None:
    table = secrets_table()
    problems = []
    pods: dict[str, Obj] = {}
    for pod in ("scheduler", "api-server", "dag-processor", "triggerer"):
        deployment = find_workload(render.objects, "Deployment", pod)
        if deployment is not None:
            pods[pod] = pod_template(deployment)["spec"]
    (_, worker), = worker_pod_templates(render.objects)
    pods["worker"] = worker["spec"]
    # The housekeeping CronJob `airflow db clean` (on in the inventories that turn it on)
    db_clean = find_workload(render.objects, "CronJob", "db-clean")
    if db_clean is not None:
        pods["db-clean"] = pod_template(db_clean)["spec"]
    assert {"scheduler", "api-server", "dag-processor", "worker"} <= pods.keys()
    # The admin password: only where the role manages the admin user (simple: auth-passwords, FAB: fab-admin)
    managed_admin = any(c["name"] in ("auth-passwords", "fab-admin") for c in pods["api-server"].get("initContainers") or [])
    # The sign-in provider's secret: only where the FAB auth manager signs in through OIDC or LDAP (its fab.json)
    fab = next((c for c in of_kind(render.objects, "ConfigMap") if name(c).split("/")[-1].endswith("-fab")), None)
    fab_settings = json.loads(fab["data"]["fab.json"]) if fab else {}
    provider = fab_settings.get("auth_type") in ("oauth", "ldap")
    # The remote logging connection: only where remote logging is on with a connection Secret of the user's (the
    # inventory's airflow_core_remote_logging), as AIRFLOW_CONN_<remote_log_conn_id of airflow.cfg>
    remote = _remote_logging(render)
    secret_env_of = {**SECRET_ENV_OF, "remote logging connection": f"AIRFLOW_CONN_{(remote or '').upper()}"}
    for pod, spec in pods.items():
        held = _pod_secret_envs(spec)
        for secret, env in secret_env_of.items():
            if secret == "admin password" and not managed_admin:
                expected = False
            elif secret == "sign-in provider secret" and not provider:
                expected = False
            elif secret == "remote logging connection" and not remote:
                expected = False
            else:
                expected = table[pod][secret]
            if (env in held) != expected:
                problems.append(f"{pod}: {'lacks' if expected else 'holds'} the {secret} ({env})")
        unexplained = held - set(secret_env_of.values())
        if unexplained:
            problems.append(f"{pod}: secrets the table does not list: {sorted(unexplained)}")
    # Worker pods: nothing from a Secret at all (no envFrom, no Secret volume), no token unless asked for
    spec = pods["worker"]
    for c in (spec.get("initContainers") or []) + spec["containers"]:
        if c["name"] == "base" and [s for s in c.get("envFrom") or [] if "secretRef" in s]:
            problems.append("worker: envFrom a Secret")
    secret_volumes = [v["name"] for v in spec.get("volumes") or [] if "secret" in v or "projected" in v]
    if secret_volumes:
        problems.append(f"worker: Secret volumes {secret_volumes}")
    rbac = {name(a).split("/")[-1]: a for a in of_kind(render.objects, "ServiceAccount")}
    worker_sa = rbac.get(spec.get("serviceAccountName", ""), {})
    if spec.get("automountServiceAccountToken") is not worker_sa.get("automountServiceAccountToken", False):
        problems.append("worker: automountServiceAccountToken differs from its ServiceAccount's")
    assert not problems, "\n".join(problems)


def _remote_logging(render: Render) -> str | None:
    """The connection id the pods get from the user's Secret when the inventory turns remote logging on with one
    (airflow_core_remote_logging.connection_secret_ref), checked against the rendered airflow.cfg; else None."""
    import configparser

    data = load_yaml(inventory_dir(render.inventory) / "group_vars" / "airflow" / "main.yml") or {}
    settings = data.get("airflow_core_remote_logging") or {}
    if not (settings.get("enabled") and (settings.get("connection_secret_ref") or {}).get("name")):
        return None
    cm = next(c for c in of_kind(render.objects, "ConfigMap") if "airflow.cfg" in (c.get("data") or {}))
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read_string(cm["data"]["airflow.cfg"])
    assert cfg.get("logging", "remote_logging") == "True"
    assert cfg.get("logging", "remote_base_log_folder") == settings["base_folder"]
    return cfg.get("logging", "remote_log_conn_id")


@pytest.mark.parametrize("inventory", ["production"])
def test_remote_logging_reaches_only_the_pods_that_use_it(render: Render) -> None:
    """The production sample turns remote logging on: airflow.cfg names the bucket and the connection, the api-server
    (and the triggerer, when it runs) get the connection from the user's Secret, no other pod does, and the
    NetworkPolicy <instance>-remote-logging lets exactly the worker pods, the api-server and the triggerer out on 443."""
    conn_id = _remote_logging(render)
    assert conn_id == "remote_logs"
    env = f"AIRFLOW_CONN_{conn_id.upper()}"
    holders = set()
    for obj in of_kind(render.objects, "Deployment"):
        for c in pod_template(obj)["spec"]["containers"]:
            for e in c.get("env") or []:
                if e["name"] == env:
                    assert e["valueFrom"]["secretKeyRef"] == {"name": "airflow-remote-logs", "key": "connection"}
                    holders.add(component(obj))
    (_, worker), = worker_pod_templates(render.objects)
    assert env not in {e["name"] for c in worker["spec"]["containers"] for e in c.get("env") or []}
    expected = {"api-server"} | ({"triggerer"} if find_workload(render.objects, "Deployment", "triggerer") else set())
    assert holders == expected
    policy = next(p for p in of_kind(render.objects, "NetworkPolicy") if name(p).endswith("-remote-logging"))
    selector = {e["key"]: e["values"] for e in policy["spec"]["podSelector"]["matchExpressions"]}
    assert set(selector["app.kubernetes.io/component"]) == {"worker"} | expected
    assert policy["spec"]["egress"] == [{"ports": [{"port": 443, "protocol": "TCP"}]}]


def test_airflow_cfg_holds_no_secret(render: Render) -> None:
    """Every airflow.cfg (the components', the migration's; worker pods mount the components' one) holds no secret:
    secrets reach pods from Secrets only."""
    import configparser

    found = []
    for cm in of_kind(render.objects, "ConfigMap"):
        for key, text in (cm.get("data") or {}).items():
            if not key.endswith(".cfg"):
                continue
            cfg = configparser.ConfigParser(interpolation=None)
            cfg.read_string(text)
            found += [f"{name(cm)}/{key}: [{s}] {k}" for s, k in SECRETS_IN_CFG if cfg.has_option(s, k)]
            if not cfg.get("core", "execution_api_server_url", fallback="").endswith("/execution/"):
                found.append(f"{name(cm)}/{key}: no [core] execution_api_server_url (worker pods need it)")
    assert not found, "\n".join(found)


def _db_wait(c: Obj) -> tuple[str | None, str | None]:
    env = {e["name"]: e.get("value") for e in c.get("env") or []}
    return env.get("CONNECTION_CHECK_MAX_COUNT"), env.get("CONNECTION_CHECK_SLEEP_TIME")


def test_db_wait_of_each_container(render: Render) -> None:
    """The migration Job and the wait-for-migrations init containers wait for the database in their script (a try a
    second, 120 tries); the components' Airflow containers do not wait again (their init container did)."""
    prefix = _instance(render.objects) + "-db-migrate-"
    migrate_jobs = [j for j in of_kind(render.objects, "Job") if name(j).split("/")[-1].startswith(prefix)]
    problems = [] if migrate_jobs else [f"no migration Job ({prefix}*) in the render"]
    for job in migrate_jobs:
        c = container(pod_template(job)["spec"], "migrate") or {}
        if _db_wait(c) != ("120", "1"):
            problems.append(f"{name(job)}: migrate waits {_db_wait(c)}, expected ('120', '1')")
    airflow_image = container(pod_template(find_workload(render.objects, "Deployment", "scheduler"))["spec"],
                              "scheduler")["image"]
    for obj in of_kind(render.objects, "Deployment"):
        spec = pod_template(obj)["spec"]
        for c in spec.get("initContainers") or []:
            if c["name"] == "wait-for-migrations" and _db_wait(c) != ("120", "1"):
                problems.append(f"{name(obj)}: wait-for-migrations waits {_db_wait(c)}, expected ('120', '1')")
        for c in spec["containers"]:
            if c["image"] == airflow_image and _db_wait(c)[0] != "0":
                problems.append(f"{name(obj)}/{c['name']}: CONNECTION_CHECK_MAX_COUNT {_db_wait(c)[0]}, expected 0")
    assert not problems, "\n".join(problems)


def test_db_wait_scripts_import_airflow_first(render: Render) -> None:
    """The migration Job and every wait-for-migrations init container run a Python script (not an `airflow` command,
    before which the image's entrypoint would wait with a new process per try) that compiles, imports Airflow before
    its database wait (the import then overlaps the database's start) and runs Airflow's own command after it."""
    scripts = [(name(j), container(pod_template(j)["spec"], "migrate") or {}, "db migrate")
               for j in of_kind(render.objects, "Job") if container(pod_template(j)["spec"], "migrate")]
    scripts += [(name(d), c, "db check-migrations") for d in of_kind(render.objects, "Deployment")
                for c in pod_template(d)["spec"].get("initContainers") or [] if c["name"] == "wait-for-migrations"]
    problems = [] if len(scripts) >= 2 else [
        f"expected a migration Job and wait-for-migrations init containers, found {scripts}"]
    for where, c, command in scripts:
        args = (c.get("command") or []) + (c.get("args") or [])
        if args[:2] != ["python", "-c"] or len(args) != 3:
            problems.append(f"{where}/{c.get('name')}: runs {args[:3]}, expected python -c <script>")
            continue
        script = args[2]
        compile(script, f"{where}/{c['name']}", "exec")
        imported, waited = script.find("from airflow import settings"), script.find("settings.engine.connect()")
        run = script.find('"airflow", "' + '", "'.join(command.split()) + '"')
        if not 0 <= imported < waited < run:
            problems.append(f"{where}/{c['name']}: Airflow import at {imported}, database wait at {waited}, "
                            f"`airflow {command}` at {run}: expected them in that order")
    assert not problems, "\n".join(problems)


def test_database_clients_run_under_the_supervise_script(render: Render) -> None:
    """The scheduler, the dag-processor and the triggerer (the components that exit when the database stops
    answering) run `airflow <component>` under airflow_core's supervise script (tests/unit/test_supervise_script.py):
    python -c <script> airflow <component>, the script the role defines, compiled; the api-server does not."""
    expected = {"scheduler": "scheduler", "dag-processor": "dag-processor", "triggerer": "triggerer"}
    found = {}
    for d in of_kind(render.objects, "Deployment"):
        for c in pod_template(d)["spec"]["containers"]:
            args = (c.get("command") or []) + (c.get("args") or [])
            if c["name"] in expected:
                found[c["name"]] = args
            elif c["name"] == "api-server":
                assert args[:2] == ["airflow", "api-server"], args[:3]
    problems = []
    for component, args in found.items():
        if len(args) != 5 or args[:2] != ["python", "-c"] or args[3:] != ["airflow", expected[component]]:
            problems.append(f"{component}: runs {args[:2] + ['...'] + args[3:]}, expected python -c <script> airflow "
                            f"{expected[component]}")
            continue
        compile(args[2], component, "exec")
        if "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in args[2] or "start_new_session=True" not in args[2]:
            problems.append(f"{component}: the script is not the supervise script")
    assert found, "no scheduler, dag-processor or triggerer container rendered"
    assert not problems, "\n".join(problems)


def test_migration_job_reads_the_components_config_and_env(render: Render) -> None:
    """The migration Job (airflow_core) runs with the scheduler's airflow.cfg (its own ConfigMap, the same file) and
    environment, except the secrets `airflow db migrate` does not need; its image is the scheduler's."""
    objects = render.objects
    instance = _instance(objects)
    jobs = [j for j in of_kind(objects, "Job") if name(j).split("/")[-1].startswith(f"{instance}-db-migrate-")]
    assert len(jobs) == 1, f"expected one migration Job, got {[name(j) for j in jobs]}"
    spec = pod_template(jobs[0])["spec"]
    migrate = container(spec, "migrate") or {}
    scheduler = container(pod_template(find_workload(objects, "Deployment", "scheduler"))["spec"], "scheduler") or {}
    assert migrate.get("image") == scheduler.get("image")
    configmaps = {name(c).split("/")[-1]: c for c in of_kind(objects, "ConfigMap")}
    volume = next(v for v in spec["volumes"] if v["name"] == "config")
    mount = next(m for m in migrate["volumeMounts"] if m["name"] == "config")
    assert mount["mountPath"] == "/opt/airflow/airflow.cfg" and mount.get("subPath") == "airflow.cfg"
    job_cfg = configmaps[volume["configMap"]["name"]]["data"]["airflow.cfg"]
    assert job_cfg == configmaps[f"{instance}-config"]["data"]["airflow.cfg"], "the Job's airflow.cfg differs"
    env = {e["name"]: e for e in migrate.get("env") or []}
    scheduler_env = {e["name"]: e for e in scheduler.get("env") or []}
    secrets_not_needed = {"AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"}
    assert not secrets_not_needed & env.keys(), f"the migration gets secrets it does not need: {secrets_not_needed & env.keys()}"
    same = {k for k in scheduler_env if k not in secrets_not_needed and not k.startswith("CONNECTION_CHECK_")}
    assert {k: env.get(k) for k in same} == {k: scheduler_env[k] for k in same}
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["valueFrom"]["secretKeyRef"] == {
        "name": f"{instance}-metadata-db", "key": "connection"}
    labels = pod_template(jobs[0])["metadata"]["labels"]
    assert labels.get("airflow-k8s.io/db-client") == "true", "the NetworkPolicies let only db-client pods reach the DB"


# ------------------------------------------------------------------------------------------ (f) checksums


def test_workloads_roll_on_config_change(render: Render) -> None:
    problems = checks.checksum_problems(render.objects)
    assert not problems, "\n".join(problems)


def test_repo_layout_for_render() -> None:
    """The render playbook and the three inventories exist (explains every other failure at once)."""
    missing = [p for p in [RENDER_PLAYBOOK, *(f"inventories/{i}" for i in INVENTORIES)] if not (REPO / p).exists()]
    assert not missing, f"missing: {missing}"


# ------------------------------------------------------------------------------------------ (f) one source


@pytest.mark.parametrize("inventory", ["production"])
def test_every_pod_carries_the_shared_pull_secret(render: Render) -> None:
    """airflow_image_pull_secrets reaches every pod of every role: components, workers, DB Jobs, Postgres."""
    shared = load_yaml(inventory_dir("production") / "group_vars" / "airflow" / "main.yml")["airflow_image_pull_secrets"]
    assert shared, "production sets no airflow_image_pull_secrets"
    pods = [pod for obj in render.objects for pod in pss.pods_in(obj)]
    assert any("db-migrate" in p.name for p in pods), f"no migration Job among {[p.name for p in pods]}"
    assert any("pod_template_file.yaml" in p.name for p in pods), "the worker pod template was not checked"
    missing = [p.name for p in pods if p.spec.get("imagePullSecrets") != shared]
    assert not missing, f"pods without imagePullSecrets {shared}: {missing}"
