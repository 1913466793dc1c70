"""Render every inventory with playbooks/render.yml (no cluster) and check what would be applied.

Each inventory is rendered once per session (in parallel); the tests then read the manifests.
"""

from __future__ import annotations

import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from lib import kubeval, pss
from lib.ansible_run import INVENTORIES, RENDER_PLAYBOOK, REPO, RunResult, manifest_files, run_playbook, uses_vault, vault_password_file
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

REDACTED_ANNOTATION = "airflow-k8s.io/redacted"
RENDER_FILE = re.compile(r"^\d\d-[a-z0-9][a-z0-9-]*\.yaml$")
CORE_DEPLOYMENTS = ("scheduler", "api-server", "dag-processor")
# Workloads whose pods must roll when their config changes. Jobs are left out on purpose: a Job's pod
# template is immutable (migration Jobs are named per Airflow version instead).
ROLLING_KINDS = ("Deployment", "StatefulSet", "DaemonSet")

# Documented differences between the scheduler container and the worker template's `base` container.
# Worker-only: CONNECTION_CHECK_MAX_COUNT=0 skips the image entrypoint's DB check before every task.
WORKER_ONLY_ENV = frozenset({"CONNECTION_CHECK_MAX_COUNT"})
SCHEDULER_ONLY_ENV: frozenset[str] = frozenset()
ENV_VALUE_MAY_DIFFER: frozenset[str] = frozenset()
WORKER_ONLY_MOUNTS: frozenset[str] = frozenset()
SCHEDULER_ONLY_MOUNTS: frozenset[str] = frozenset()


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
            if hasattr(item, "callspec") and "inventory" in item.callspec.params
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
    assert any(n.startswith("20-db-") for n in names), names
    assert any(n.startswith("30-core-") for n in names), names


def test_production_inventory_opens_its_vault() -> None:
    """If production keeps secrets in ansible-vault, it ships the example password file the tests use."""
    if uses_vault("production"):
        assert vault_password_file("production"), (
            "inventories/production uses ansible-vault but ships no vault-password.example for the tests"
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
    secrets = of_kind(render.objects, "Secret")
    assert secrets, "no Secret in the render (the DB connection Secret at least is expected)"
    problems = []
    for secret in secrets:
        annotations = secret["metadata"].get("annotations") or {}
        if annotations.get(REDACTED_ANNOTATION) != "true":
            problems.append(f"{name(secret)}: missing annotation {REDACTED_ANNOTATION}: \"true\"")
        for section in ("data", "stringData"):
            for key, value in (secret.get(section) or {}).items():
                if value not in ("", None):
                    problems.append(f"{name(secret)}: {section}.{key} holds a value")
    assert not problems, "\n".join(problems)


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


def _postgres_statefulsets(objects: list[Obj]) -> list[Obj]:
    return [s for s in of_kind(objects, "StatefulSet") if "postgres" in name(s) or component(s) == "postgres"]


def test_local_runs_postgres_in_cluster(renderer: Renderer) -> None:
    objects = _ok(renderer, "local").objects
    assert _postgres_statefulsets(objects), "local: no Postgres StatefulSet"


def test_staging_uses_static_nfs(renderer: Renderer) -> None:
    objects = _ok(renderer, "staging").objects
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


def test_production_uses_portworx_and_external_db(renderer: Renderer) -> None:
    objects = _ok(renderer, "production").objects
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


def _ok(renderer: Renderer, inventory: str) -> Render:
    rendered = renderer.get(inventory)
    if rendered.result.returncode != 0 or rendered.load_error or not rendered.documents:
        pytest.fail(f"render of inventories/{inventory} failed:\n{rendered.result.describe()}\n{rendered.load_error or ''}",
                    pytrace=False)
    return rendered


# ------------------------------------------------------------------------------------------ (e) worker template


def _volume_source(pod_spec: Obj, volume_name: str) -> str:
    """What a volume really is, independent of the volume's local name."""
    volume = next((v for v in pod_spec.get("volumes") or [] if v.get("name") == volume_name), None)
    if volume is None:
        return f"<undefined volume {volume_name}>"
    kind = next((k for k in volume if k != "name"), "emptyDir")
    source = volume.get(kind) or {}
    ref = source.get("claimName") or source.get("secretName") or source.get("name") or ""
    if kind == "projected":
        ref = ",".join(sorted(str(s) for s in source.get("sources", [])))
    return f"{kind}:{ref}"


def _mounts(pod_spec: Obj, c: Obj) -> dict[str, str]:
    return {
        m["mountPath"]: f"{_volume_source(pod_spec, m['name'])} subPath={m.get('subPath', '')} ro={bool(m.get('readOnly'))}"
        for m in c.get("volumeMounts") or []
    }


def _env(c: Obj) -> dict[str, Any]:
    return {e["name"]: e.get("valueFrom") or e.get("value", "") for e in c.get("env") or []}


def test_worker_template_matches_scheduler(render: Render) -> None:
    objects = render.objects
    templates = worker_pod_templates(objects)
    assert len(templates) == 1, f"expected one worker pod template, found {len(templates)}"
    config_map, worker = templates[0]
    worker_spec = worker.get("spec") or {}
    base = container(worker_spec, "base")
    assert base, "the worker pod template needs a container named 'base'"

    scheduler = find_workload(objects, "Deployment", "scheduler")
    assert scheduler, "no scheduler Deployment"
    sched_spec = pod_template(scheduler).get("spec") or {}
    sched = container(sched_spec, "scheduler") or container(sched_spec)
    assert sched, "cannot tell the scheduler container apart"

    problems = []
    if base.get("image") != sched.get("image"):
        problems.append(f"image: worker {base.get('image')} != scheduler {sched.get('image')}")
    if base.get("imagePullPolicy") != sched.get("imagePullPolicy"):
        problems.append("imagePullPolicy differs")
    if worker_spec.get("imagePullSecrets") != sched_spec.get("imagePullSecrets"):
        problems.append("imagePullSecrets differ")

    w_env, s_env = _env(base), _env(sched)
    missing = set(s_env) - set(w_env) - SCHEDULER_ONLY_ENV
    extra = set(w_env) - set(s_env) - WORKER_ONLY_ENV
    if missing:
        problems.append(f"env the worker lacks: {sorted(missing)}")
    if extra:
        problems.append(f"env only the worker has (undocumented): {sorted(extra)}")
    for key in sorted((set(w_env) & set(s_env)) - ENV_VALUE_MAY_DIFFER):
        if w_env[key] != s_env[key]:
            problems.append(f"env {key}: worker {w_env[key]!r} != scheduler {s_env[key]!r}")
    if (base.get("envFrom") or []) != (sched.get("envFrom") or []):
        problems.append("envFrom differs")

    w_mounts, s_mounts = _mounts(worker_spec, base), _mounts(sched_spec, sched)
    for path in sorted(set(s_mounts) - set(w_mounts) - SCHEDULER_ONLY_MOUNTS):
        problems.append(f"mount {path} ({s_mounts[path]}) missing in the worker")
    for path in sorted(set(w_mounts) - set(s_mounts) - WORKER_ONLY_MOUNTS):
        problems.append(f"mount {path} only in the worker (undocumented)")
    for path in sorted(set(w_mounts) & set(s_mounts)):
        if w_mounts[path] != s_mounts[path]:
            problems.append(f"mount {path}: worker {w_mounts[path]} != scheduler {s_mounts[path]}")

    if (worker_spec.get("securityContext") or {}) != (sched_spec.get("securityContext") or {}):
        problems.append("pod securityContext differs")
    if (base.get("securityContext") or {}) != (sched.get("securityContext") or {}):
        problems.append("container securityContext differs")

    # Service account: the worker has its own (no pod-launching rights) and no API token by default.
    worker_sa = worker_spec.get("serviceAccountName")
    if not worker_sa or worker_sa == "default":
        problems.append("worker pods need their own serviceAccountName")
    elif worker_sa == sched_spec.get("serviceAccountName"):
        problems.append("worker pods must not run as the scheduler's service account (it can launch pods)")
    elif worker_sa not in {name(sa) for sa in of_kind(objects, "ServiceAccount")}:
        problems.append(f"worker service account {worker_sa} is not rendered")
    else:
        sa = next(sa for sa in of_kind(objects, "ServiceAccount") if name(sa) == worker_sa)
        if worker_spec.get("automountServiceAccountToken", sa.get("automountServiceAccountToken")) is not False:
            problems.append("worker pods must not mount a service account token (automountServiceAccountToken: false)")

    # The scheduler must actually see this template.
    sched_volumes = sched_spec.get("volumes") or []
    referenced = {((v.get("configMap") or {}).get("name")) for v in sched_volumes} | {
        (s.get("configMap") or {}).get("name") for v in sched_volumes for s in (v.get("projected") or {}).get("sources", [])
    }
    if name(config_map) not in referenced:
        problems.append(f"the scheduler mounts no volume from ConfigMap {name(config_map)} (the pod template)")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------------ (f) checksums


def test_workloads_roll_on_config_change(render: Render) -> None:
    workloads = [o for o in render.objects if o.get("kind") in ROLLING_KINDS]
    assert workloads, "no workloads rendered"
    problems = []
    for workload in workloads:
        annotations = (pod_template(workload).get("metadata") or {}).get("annotations") or {}
        checksums = {k: v for k, v in annotations.items() if k.startswith("checksum/")}
        if not checksums:
            problems.append(f"{workload['kind']}/{name(workload)}: no checksum/ annotation on the pod template")
        for key, value in checksums.items():
            if not re.fullmatch(r"[0-9a-f]{16,128}", str(value)):
                problems.append(f"{workload['kind']}/{name(workload)}: {key}={value!r} is not a hex digest")
    assert not problems, "\n".join(problems)


def test_repo_layout_for_render() -> None:
    """The render playbook and the three inventories exist (explains every other failure at once)."""
    missing = [p for p in [RENDER_PLAYBOOK, *(f"inventories/{i}" for i in INVENTORIES)] if not (REPO / p).exists()]
    assert not missing, f"missing: {missing}"
