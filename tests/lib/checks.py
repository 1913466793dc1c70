"""Checks of rendered objects, shared by test_render.py and proven by tests/unit/test_render_checks.py.

Each returns a list of problems (empty = fine), so a test can show them all at once.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

from lib import pss
from lib.manifests import container, find_workload, name, of_kind, pod_template, worker_pod_templates

Obj = dict[str, Any]

REDACTED_ANNOTATION = "airflow-k8s.io/redacted"
# Workloads whose pods must roll when their config changes. Jobs are left out on purpose: a Job's pod
# template is immutable (migration Jobs are named per Airflow version instead).
ROLLING_KINDS = ("Deployment", "StatefulSet", "DaemonSet")

# The environment variables that carry a secret (docs/security.md, "Which component holds which secret"): worker
# pods get none of them, nor their _CMD / _SECRET forms.
SECRET_ENV = frozenset({
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
})
# Documented differences between the scheduler container and the worker template's `base` container.
# Worker-only: CONNECTION_CHECK_MAX_COUNT=0 skips the image entrypoint's DB check before every task.
WORKER_ONLY_ENV = frozenset({"CONNECTION_CHECK_MAX_COUNT"})
# Scheduler-only: the secrets (worker pods hold none).
SCHEDULER_ONLY_ENV: frozenset[str] = SECRET_ENV
ENV_VALUE_MAY_DIFFER: frozenset[str] = frozenset()
WORKER_ONLY_MOUNTS: frozenset[str] = frozenset()
# The scheduler reads the worker pod template from this folder; worker pods are made from it. The database's CA
# bundle is for database clients; worker pods do not open the database.
SCHEDULER_ONLY_MOUNTS = frozenset({"/opt/airflow/pod_templates", "/opt/airflow/db-ca"})


def secret_env_names(c: Obj) -> set[str]:
    """The secret-carrying environment variables of a container (SECRET_ENV, plain or as _CMD / _SECRET)."""
    return {e["name"] for e in c.get("env") or []
            if e["name"] in SECRET_ENV or e["name"].removesuffix("_CMD").removesuffix("_SECRET") in SECRET_ENV}


def secret_problems(objects: list[Obj]) -> list[str]:
    """Secrets that hold a value or lack the redacted annotation."""
    secrets = of_kind(objects, "Secret")
    if not secrets:
        return ["no Secret in the render (the DB connection Secret at least is expected)"]
    problems = []
    for secret in secrets:
        annotations = secret["metadata"].get("annotations") or {}
        if annotations.get(REDACTED_ANNOTATION) != "true":
            problems.append(f"{name(secret)}: missing annotation {REDACTED_ANNOTATION}: \"true\"")
        for section in ("data", "stringData"):
            for key, value in (secret.get(section) or {}).items():
                if value not in ("", None):
                    problems.append(f"{name(secret)}: {section}.{key} holds a value")
    return problems


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


def worker_template_problems(objects: list[Obj]) -> list[str]:
    """How the worker pod template's `base` container differs from the scheduler's (beyond the documented)."""
    templates = worker_pod_templates(objects)
    if len(templates) != 1:
        return [f"expected one worker pod template, found {len(templates)}"]
    config_map, worker = templates[0]
    worker_spec = worker.get("spec") or {}
    base = container(worker_spec, "base")
    if not base:
        return ["the worker pod template needs a container named 'base'"]
    scheduler = find_workload(objects, "Deployment", "scheduler")
    if not scheduler:
        return ["no single scheduler Deployment"]
    sched_spec = pod_template(scheduler).get("spec") or {}
    sched = container(sched_spec, "scheduler") or container(sched_spec)
    if not sched:
        return ["cannot tell the scheduler container apart"]

    problems = []
    if base.get("image") != sched.get("image"):
        problems.append(f"image: worker {base.get('image')} != scheduler {sched.get('image')}")
    if base.get("imagePullPolicy") != sched.get("imagePullPolicy"):
        problems.append("imagePullPolicy differs")
    if worker_spec.get("imagePullSecrets") != sched_spec.get("imagePullSecrets"):
        problems.append("imagePullSecrets differ")

    w_env, s_env = _env(base), _env(sched)
    if secret_env_names(base):
        problems.append(f"the worker holds secrets: {sorted(secret_env_names(base))}")
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
    return problems


def checksum_problems(objects: list[Obj]) -> list[str]:
    """Workloads whose pod template lacks a checksum/<x> hex digest annotation."""
    workloads = [o for o in objects if o.get("kind") in ROLLING_KINDS]
    if not workloads:
        return ["no workloads rendered"]
    problems = []
    for workload in workloads:
        annotations = (pod_template(workload).get("metadata") or {}).get("annotations") or {}
        checksums = {k: v for k, v in annotations.items() if k.startswith("checksum/")}
        if not checksums:
            problems.append(f"{workload['kind']}/{name(workload)}: no checksum/ annotation on the pod template")
        for key, value in checksums.items():
            if not re.fullmatch(r"[0-9a-f]{16,128}", str(value)):
                problems.append(f"{workload['kind']}/{name(workload)}: {key}={value!r} is not a hex digest")
    return problems


def _refs(pod_spec: Obj) -> Iterator[tuple[str, str, bool]]:
    """(kind, name, optional) of every ServiceAccount, PVC, Secret and ConfigMap a pod spec needs."""
    if pod_spec.get("serviceAccountName"):
        yield "ServiceAccount", pod_spec["serviceAccountName"], False
    for volume in pod_spec.get("volumes") or []:
        if "persistentVolumeClaim" in volume:
            yield "PersistentVolumeClaim", volume["persistentVolumeClaim"].get("claimName", ""), False
        if "secret" in volume:
            yield "Secret", volume["secret"].get("secretName", ""), bool(volume["secret"].get("optional"))
        if "configMap" in volume:
            yield "ConfigMap", volume["configMap"].get("name", ""), bool(volume["configMap"].get("optional"))
        for source in (volume.get("projected") or {}).get("sources") or []:
            for kind, field in (("Secret", "secret"), ("ConfigMap", "configMap")):
                if field in source:
                    yield kind, source[field].get("name", ""), bool(source[field].get("optional"))
    for field in ("initContainers", "containers"):
        for c in pod_spec.get(field) or []:
            for env in c.get("env") or []:
                value_from = env.get("valueFrom") or {}
                for kind, key in (("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")):
                    if key in value_from:
                        yield kind, value_from[key].get("name", ""), bool(value_from[key].get("optional"))
            for env_from in c.get("envFrom") or []:
                for kind, key in (("Secret", "secretRef"), ("ConfigMap", "configMapRef")):
                    if key in env_from:
                        yield kind, env_from[key].get("name", ""), bool(env_from[key].get("optional"))


def dangling_reference_problems(objects: list[Obj], external: Iterable[tuple[str, str]] = ()) -> list[str]:
    """Pods that need a ServiceAccount, claim, Secret or ConfigMap the render does not contain.

    Optional references, claims from a StatefulSet's volumeClaimTemplates and ``external``
    (kind, name) pairs the user supplies are allowed.
    """
    rendered = {(o.get("kind"), name(o)) for o in objects}
    allowed = set(external)
    for sts in of_kind(objects, "StatefulSet"):
        for template in (sts.get("spec") or {}).get("volumeClaimTemplates") or []:
            allowed.add(("PersistentVolumeClaim", name(template)))
    problems = []
    for obj in objects:
        for pod in pss.pods_in(obj):
            for kind, ref, optional in _refs(pod.spec):
                if not optional and (kind, ref) not in rendered and (kind, ref) not in allowed:
                    problems.append(f"{pod.name} needs {kind} {ref!r}, which is not rendered")
    return sorted(set(problems))


def unbindable_claim_problems(objects: list[Obj]) -> list[str]:
    """Claims with storageClassName "" but no volumeName (no dynamic provisioning, nothing to bind: Pending)."""
    return [
        f"PersistentVolumeClaim {name(c)}: storageClassName \"\" without volumeName never binds"
        for c in of_kind(objects, "PersistentVolumeClaim")
        if (c.get("spec") or {}).get("storageClassName") == "" and not (c.get("spec") or {}).get("volumeName")
    ]
