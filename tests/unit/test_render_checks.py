"""Proves the render checks (tests/lib/checks.py) pass a consistent set of objects and fail each drift."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest
import yaml

from lib import checks

Obj = dict[str, Any]

IMAGE = "apache/airflow:3.3.2"
POD_SC = {"runAsNonRoot": True, "runAsUser": 50000, "fsGroup": 0, "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
SECRET_ENV = [
    {"name": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "valueFrom": {"secretKeyRef": {"name": "airflow-metadata-db", "key": "connection"}}},
]
ENV = [{"name": "AIRFLOW_HOME", "value": "/opt/airflow"}, {"name": "TZ", "value": "UTC"}]
MOUNTS = [{"name": "logs", "mountPath": "/opt/airflow/logs"}, {"name": "config", "mountPath": "/opt/airflow/airflow.cfg", "subPath": "airflow.cfg", "readOnly": True}]
VOLUMES = [{"name": "logs", "persistentVolumeClaim": {"claimName": "airflow-logs"}}, {"name": "config", "configMap": {"name": "airflow-config"}}]


def objects() -> list[Obj]:
    worker = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "placeholder"},
        "spec": {
            "serviceAccountName": "airflow-worker", "automountServiceAccountToken": False, "securityContext": POD_SC,
            "containers": [{"name": "base", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "securityContext": CONTAINER_SC,
                            "env": ENV + [{"name": "CONNECTION_CHECK_MAX_COUNT", "value": "0"}], "volumeMounts": MOUNTS}],
            "volumes": VOLUMES,
        },
    }
    scheduler = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "airflow-scheduler", "labels": {"app.kubernetes.io/component": "scheduler"}},
        "spec": {"template": {
            "metadata": {"annotations": {"checksum/config": "ab" * 32}},
            "spec": {
                "serviceAccountName": "airflow-scheduler", "securityContext": POD_SC,
                "containers": [{"name": "scheduler", "image": IMAGE, "imagePullPolicy": "IfNotPresent", "securityContext": CONTAINER_SC,
                                "env": SECRET_ENV + ENV, "volumeMounts": MOUNTS + [{"name": "pod-template", "mountPath": "/opt/airflow/pod_templates"}]}],
                "volumes": VOLUMES + [{"name": "pod-template", "configMap": {"name": "airflow-pod-template"}}],
            },
        }},
    }
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "airflow-worker"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "airflow-scheduler"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "airflow-pod-template"},
         "data": {"pod_template_file.yaml": yaml.safe_dump(worker)}},
        scheduler,
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "airflow-metadata-db", "annotations": {checks.REDACTED_ANNOTATION: "true"}},
         "data": {"connection": ""}},
    ]


def _worker(objs: list[Obj]) -> tuple[Obj, Obj]:
    cm = objs[2]
    return cm, yaml.safe_load(cm["data"]["pod_template_file.yaml"])


def mutate_worker(change: Callable[[Obj], None]) -> Callable[[list[Obj]], None]:
    def apply(objs: list[Obj]) -> None:
        cm, pod = _worker(objs)
        change(pod)
        cm["data"]["pod_template_file.yaml"] = yaml.safe_dump(pod)
    return apply


def base(pod: Obj) -> Obj:
    return pod["spec"]["containers"][0]


def sched_spec(objs: list[Obj]) -> Obj:
    return objs[3]["spec"]["template"]["spec"]


def test_consistent_objects_pass() -> None:
    objs = objects()
    assert checks.worker_template_problems(objs) == []
    assert checks.checksum_problems(objs) == []
    assert checks.secret_problems(objs) == []


WORKER_DRIFT: dict[str, tuple[Callable[[list[Obj]], None], str]] = {
    "other image": (mutate_worker(lambda p: base(p).update(image="apache/airflow:3.2.0")), "image"),
    "pull policy": (mutate_worker(lambda p: base(p).update(imagePullPolicy="Always")), "imagePullPolicy"),
    "env missing": (mutate_worker(lambda p: base(p)["env"].pop(0)), "env the worker lacks"),
    "env extra": (mutate_worker(lambda p: base(p)["env"].append({"name": "X", "value": "1"})), "only the worker"),
    "env other value": (mutate_worker(lambda p: base(p)["env"][0].update(value="/tmp")), "env AIRFLOW_HOME"),
    "worker holds a secret": (mutate_worker(lambda p: base(p)["env"].append(copy.deepcopy(SECRET_ENV[0]))),
                              "the worker holds secrets"),
    "worker holds a secret command": (mutate_worker(lambda p: base(p)["env"].append(
        {"name": "AIRFLOW__CORE__FERNET_KEY_CMD", "value": "cat /x"})), "AIRFLOW__CORE__FERNET_KEY_CMD"),
    "mount missing": (mutate_worker(lambda p: base(p)["volumeMounts"].pop(0)), "missing in the worker"),
    "mount other claim": (mutate_worker(lambda p: p["spec"]["volumes"][0]["persistentVolumeClaim"].update(claimName="x")),
                          "mount /opt/airflow/logs"),
    "pod securityContext": (mutate_worker(lambda p: p["spec"]["securityContext"].update(runAsUser=1000)), "pod securityContext"),
    "container securityContext": (mutate_worker(lambda p: base(p)["securityContext"].update(readOnlyRootFilesystem=True)),
                                  "container securityContext"),
    "scheduler service account": (mutate_worker(lambda p: p["spec"].update(serviceAccountName="airflow-scheduler")),
                                  "scheduler's service account"),
    "no service account": (mutate_worker(lambda p: p["spec"].pop("serviceAccountName")), "own serviceAccountName"),
    "token mounted": (mutate_worker(lambda p: p["spec"].update(automountServiceAccountToken=True)), "token"),
    "base renamed": (mutate_worker(lambda p: base(p).update(name="worker")), "named 'base'"),
    "template not mounted": (lambda objs: sched_spec(objs)["volumes"].pop(), "mounts no volume from ConfigMap"),
    "no template": (lambda objs: objs.pop(2), "found 0"),
}


@pytest.mark.parametrize(("drift", "expected"), WORKER_DRIFT.values(), ids=WORKER_DRIFT.keys())
def test_worker_drift_is_reported(drift: Callable[[list[Obj]], None], expected: str) -> None:
    objs = copy.deepcopy(objects())
    drift(objs)
    problems = "\n".join(checks.worker_template_problems(objs))
    assert expected in problems, problems


@pytest.mark.parametrize("annotations", [{}, {"checksum/config": "not-a-digest"}, {"other": "ab" * 32}])
def test_missing_or_bad_checksum_is_reported(annotations: Obj) -> None:
    objs = objects()
    objs[3]["spec"]["template"]["metadata"]["annotations"] = annotations
    assert checks.checksum_problems(objs)


@pytest.mark.parametrize("change", [
    lambda s: s.update(data={"connection": "cG9zdGdyZXNxbDovLw=="}),
    lambda s: s.update(stringData={"password": "hunter2"}),
    lambda s: s["metadata"].pop("annotations"),
], ids=["data value", "stringData value", "no annotation"])
def test_unredacted_secret_is_reported(change: Callable[[Obj], None]) -> None:
    objs = objects()
    change(objs[4])
    assert checks.secret_problems(objs)


def test_references_resolve_in_consistent_objects() -> None:
    objs = objects() + [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "airflow-config"}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "airflow-logs"}, "spec": {"storageClassName": "fast"}},
    ]
    assert checks.dangling_reference_problems(objs) == []
    assert checks.unbindable_claim_problems(objs) == []


def test_dangling_references_are_reported() -> None:
    problems = "\n".join(checks.dangling_reference_problems(objects()))
    assert "PersistentVolumeClaim 'airflow-logs'" in problems
    assert "ConfigMap 'airflow-config'" in problems
    assert "pod_template_file.yaml" in problems, "references of the embedded worker template must be checked too"
    allowed = checks.dangling_reference_problems(
        objects(), external=[("PersistentVolumeClaim", "airflow-logs"), ("ConfigMap", "airflow-config")]
    )
    assert allowed == []


def test_claim_without_class_or_volume_is_reported() -> None:
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}, "spec": {"storageClassName": ""}}
    assert checks.unbindable_claim_problems([claim])
    claim["spec"]["volumeName"] = "pv"
    assert checks.unbindable_claim_problems([claim]) == []
