"""The housekeeping CronJobs as rendered (roles/airflow_core/templates/housekeeping/): log retention, `airflow db clean`
and the worker pod sweep. They render when turned on (inventories/local with all three on, and inventories/production,
which turns them on), each valid for Kubernetes, Pod Security restricted, with the labels the NetworkPolicies select,
the secrets of docs/security.md's table and least-privilege RBAC; none of their objects when off (the local
inventory's defaults); bad input refused before anything is written, naming the variable.

The live proof (each CronJob run as a Job on the kind cluster, what it removed and what it kept) is
extensions/molecule/shared/verify_housekeeping.yml.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from lib import kubeval, pss
from lib.ansible_run import RENDER_PLAYBOOK, manifest_files, run_playbook
from lib.manifests import load_documents, name, of_kind, pod_template

Obj = dict[str, Any]

ON = {
    "airflow_core_log_retention": {"enabled": True, "schedule": "*/15 3-5 * * mon-fri", "retention_days": 7},
    "airflow_core_db_clean": {"enabled": True, "retention_days": 30, "skip_archive": False, "tables": ["dag_run", "log"]},
    "airflow_core_pod_sweep": {"enabled": True, "age_minutes": 15},
}
# (inventory, extra vars) of each render
RENDERS: dict[str, tuple[str, dict[str, Any]]] = {
    "on": ("local", ON),
    "off": ("local", {}),
    "production": ("production", {}),
}
# Bad input: (id, extra vars over the local inventory, regex of the variable the refusal must name, regexes it must hold)
BAD: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
    ("schedule-six-fields", {"airflow_core_db_clean": {"enabled": True, "schedule": "0 0 3 * * *"}},
     r"airflow_core_db_clean\.schedule", (r"5 fields",)),
    ("schedule-macro", {"airflow_core_pod_sweep": {"schedule": "@hourly"}},
     r"airflow_core_pod_sweep\.schedule", (r"@hourly", r"cron expression")),
    ("retention-zero", {"airflow_core_log_retention": {"enabled": True, "retention_days": 0}},
     r"airflow_core_log_retention\.retention_days", (r"1 or more",)),
    ("retention-not-a-number", {"airflow_core_db_clean": {"retention_days": "ninety"}},
     r"airflow_core_db_clean", (r"retention_days",)),
    ("age-negative", {"airflow_core_pod_sweep": {"enabled": True, "age_minutes": -5}},
     r"airflow_core_pod_sweep\.age_minutes", (r"1 or more",)),
    ("tables-not-names", {"airflow_core_db_clean": {"enabled": True, "tables": ["dag_run; DROP TABLE x"]}},
     r"airflow_core_db_clean\.tables", (r"table names",)),
    ("log-retention-on-emptydir", {"airflow_core_log_retention": {"enabled": True}, "airflow_core_logs": {"mode": "emptydir"}},
     r"airflow_core_log_retention\.enabled", (r"airflow_core_logs\.mode", r"emptydir")),
]
CRONJOBS = {"log-retention", "db-clean", "pod-sweep"}


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("housekeeping")

    def render(key: str, inventory: str, extra: dict[str, Any]) -> Any:
        folder = base / key
        folder.mkdir()
        result = run_playbook(RENDER_PLAYBOOK, inventory, render_dir=folder, extra_vars=extra, timeout=600)
        return result, folder

    jobs = {k: (inv, extra) for k, (inv, extra) in RENDERS.items()}
    jobs.update({f"bad-{i}": ("local", extra) for i, extra, _v, _p in BAD})
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {key: pool.submit(render, key, inv, extra) for key, (inv, extra) in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


def _objects(renders: dict[str, Any], key: str) -> list[Obj]:
    result, folder = renders[key]
    assert result.returncode == 0, f"render {key} failed:\n{result.tail()}"
    return [d.obj for d in load_documents(manifest_files(folder))]


def _component(obj: Obj) -> str:
    return ((obj.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/component", "")


def _cronjobs(objects: list[Obj]) -> dict[str, Obj]:
    return {_component(c): c for c in of_kind(objects, "CronJob")}


def _env(container: Obj) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env") or []}


@pytest.mark.parametrize("key", ["on", "production"])
def test_cronjobs_render_valid_and_restricted(renders: dict[str, Any], key: str) -> None:
    objects = _objects(renders, key)
    cronjobs = _cronjobs(objects)
    assert set(cronjobs) == CRONJOBS, f"CronJobs rendered: {sorted(cronjobs)}"
    problems = []
    for comp, cj in cronjobs.items():
        spec = cj["spec"]
        job = spec["jobTemplate"]["spec"]
        if spec.get("concurrencyPolicy") != "Forbid":
            problems.append(f"{comp}: concurrencyPolicy {spec.get('concurrencyPolicy')}")
        if not 0 < spec.get("successfulJobsHistoryLimit", 3) <= 3 or not job.get("activeDeadlineSeconds"):
            problems.append(f"{comp}: history limit {spec.get('successfulJobsHistoryLimit')}, deadline {job.get('activeDeadlineSeconds')}")
        if len(spec["schedule"].split()) != 5:
            problems.append(f"{comp}: schedule {spec['schedule']!r}")
        pod = pod_template(cj)
        if _component(pod) != comp or pod["metadata"]["labels"].get("app.kubernetes.io/instance") != "airflow":
            problems.append(f"{comp}: pod labels {pod['metadata']['labels']}")
        (c,) = pod["spec"]["containers"]
        if not (c.get("resources") or {}).get("limits", {}).get("memory"):
            problems.append(f"{comp}: no memory limit")
        for version in kubeval.supported_versions():
            for what, obj in ((comp, cj), (f"{comp} pod", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": comp},
                                                             "spec": pod["spec"]})):
                reason = kubeval.validate(obj, version)
                if reason:
                    problems.append(f"{what} (Kubernetes {version}): {reason}")
        problems += [str(v) for v in pss.check_object(cj)]
    assert not problems, "\n".join(problems)


def test_none_of_their_objects_when_off(renders: dict[str, Any]) -> None:
    objects = _objects(renders, "off")
    left = [f"{o['kind']}/{name(o)}" for o in objects if _component(o) in CRONJOBS or name(o).endswith("pod-sweep")]
    assert not left, f"housekeeping objects rendered while off: {left}"
    (kube_api,) = [p for p in of_kind(objects, "NetworkPolicy") if name(p).endswith("-kube-api")]
    assert "pod-sweep" not in str(kube_api["spec"]["podSelector"])


def test_log_retention_mounts_only_the_logs_claim(renders: dict[str, Any]) -> None:
    pod = pod_template(_cronjobs(_objects(renders, "on"))["log-retention"])["spec"]
    assert [v.get("persistentVolumeClaim", {}).get("claimName") for v in pod["volumes"]] == ["airflow-logs"]
    (c,) = pod["containers"]
    assert [m["mountPath"] for m in c["volumeMounts"]] == ["/opt/airflow/logs"]
    assert pod["automountServiceAccountToken"] is False and "serviceAccountName" not in pod
    assert _env(c) == {"AIRFLOW_K8S_LOG_DIR": "/opt/airflow/logs", "AIRFLOW_K8S_RETENTION_DAYS": "7"}
    assert "airflow-k8s.io/db-client" not in pod_template(_cronjobs(_objects(renders, "on"))["log-retention"])["metadata"]["labels"]


@pytest.mark.parametrize("key", ["on", "production"])
def test_db_clean_reads_the_components_config_and_the_database_url_only(renders: dict[str, Any], key: str) -> None:
    objects = _objects(renders, key)
    template = pod_template(_cronjobs(objects)["db-clean"])
    pod = template["spec"]
    assert template["metadata"]["labels"].get("airflow-k8s.io/db-client") == "true", "no way to the database"
    assert pod["automountServiceAccountToken"] is False
    (c,) = pod["containers"]
    env = _env(c)
    secrets = {k for k, v in env.items() if isinstance(v, dict) and "secretKeyRef" in v}
    assert secrets == {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"}, f"secrets in db-clean: {secrets}"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]["secretKeyRef"] == {"name": "airflow-metadata-db", "key": "connection"}
    assert c["args"][:2] == ["bash", "-c"] and "airflow db clean --clean-before-timestamp" in c["args"][2]
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts.get("config") == "/opt/airflow/airflow.cfg" and "logs" not in mounts and "dags" not in mounts
    config = [v for v in pod["volumes"] if v["name"] == "config"]
    assert config == [{"name": "config", "configMap": {"name": "airflow-config"}}]
    if key == "on":
        assert (env["AIRFLOW_K8S_RETENTION_DAYS"], env["AIRFLOW_K8S_SKIP_ARCHIVE"], env["AIRFLOW_K8S_TABLES"]) == ("30", "false", "dag_run,log")
    (db_clients,) = [p for p in of_kind(objects, "NetworkPolicy") if name(p).endswith("-db-clients")]
    selector = db_clients["spec"]["podSelector"]["matchLabels"]
    assert all(template["metadata"]["labels"].get(k) == v for k, v in selector.items()), selector


def test_pod_sweep_may_list_and_delete_pods_only_and_reach_the_api(renders: dict[str, Any]) -> None:
    objects = _objects(renders, "on")
    pod = pod_template(_cronjobs(objects)["pod-sweep"])["spec"]
    assert pod["serviceAccountName"] == "airflow-pod-sweep" and pod["automountServiceAccountToken"] is True
    (c,) = pod["containers"]
    env = _env(c)
    assert env["AIRFLOW_K8S_AGE_MINUTES"] == "15"
    assert set(env["AIRFLOW_K8S_SELECTOR"].split(",")) == {
        "kubernetes_executor=True", "app.kubernetes.io/name=airflow", "app.kubernetes.io/instance=airflow",
        "app.kubernetes.io/component=worker"}
    (role,) = [r for r in of_kind(objects, "Role") if name(r).endswith("airflow-pod-sweep")]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "delete"]}]
    (binding,) = [b for b in of_kind(objects, "RoleBinding") if name(b).endswith("airflow-pod-sweep")]
    assert binding["roleRef"]["name"] == "airflow-pod-sweep"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "airflow-pod-sweep", "namespace": "airflow"}]
    (kube_api,) = [p for p in of_kind(objects, "NetworkPolicy") if name(p).endswith("-kube-api")]
    (components,) = [e for e in kube_api["spec"]["podSelector"]["matchExpressions"] if e["key"] == "app.kubernetes.io/component"]
    assert "pod-sweep" in components["values"]


@pytest.mark.parametrize("case", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_naming_the_variable(renders: dict[str, Any], case: tuple) -> None:
    case_id, _extra, variable, phrases = case
    result, folder = renders[f"bad-{case_id}"]
    assert result.returncode != 0, f"accepted bad input {case_id}:\n{result.tail()}"
    assert re.search(variable, result.output), f"the output does not name /{variable}/:\n{result.tail()}"
    for phrase in phrases:
        assert re.search(phrase, result.output, re.IGNORECASE), f"the output lacks /{phrase}/:\n{result.tail()}"
    written = [str(p.relative_to(folder)) for p in manifest_files(folder)]
    assert not written, f"manifests were written before the input was refused: {written}"


def test_repo_files_agree() -> None:
    """The render-tests list of the Makefile runs this file."""
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    assert "tests/test_housekeeping.py" in makefile
