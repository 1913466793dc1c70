"""Proves tests/lib/pss.py can fail: every rule fires on a bad spec, and a compliant spec passes."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest
import yaml

from lib import pss

Obj = dict[str, Any]


def good_container(name: str) -> Obj:
    return {
        "name": name,
        "image": "example.invalid/airflow:3.3.2",
        "ports": [{"containerPort": 8080, "name": "http"}],
        "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def good_pod_spec() -> Obj:
    return {
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 50000,
            "runAsGroup": 0,
            "fsGroup": 0,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [good_container("wait-db")],
        "containers": [good_container("base")],
        "ephemeralContainers": [good_container("debug")],
        "volumes": [
            {"name": "config", "configMap": {"name": "airflow-config"}},
            {"name": "secret", "secret": {"secretName": "airflow-metadata-db"}},
            {"name": "tmp", "emptyDir": {}},
            {"name": "logs", "persistentVolumeClaim": {"claimName": "airflow-logs"}},
            {"name": "token", "projected": {"sources": []}},
            {"name": "info", "downwardAPI": {"items": []}},
            {"name": "px", "csi": {"driver": "pxd.portworx.com"}},
            {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
            {"name": "defaulted-to-emptydir"},
        ],
    }


def pod(spec: Obj | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec or good_pod_spec()}


def rules(violations: list[pss.Violation]) -> set[tuple[str | None, str]]:
    return {(v.container, v.rule) for v in violations}


# ---------------------------------------------------------------- good specs pass, for every carrier kind


def wrap(kind: str, spec: Obj) -> Obj:
    template = {"metadata": {"labels": {"a": "b"}}, "spec": spec}
    if kind == "Pod":
        return pod(spec)
    if kind == "CronJob":
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": {"name": "c"},
                "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}}
    if kind == "PodTemplate":
        return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "t"}, "template": template}
    if kind == "ConfigMap":
        return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "airflow-pod-template"},
                "data": {"pod_template_file.yaml": yaml.safe_dump(pod(spec)), "other": "not: a pod\n"}}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "w"}, "spec": {"template": template}}


CARRIERS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "PodTemplate", "ConfigMap"]


@pytest.mark.parametrize("kind", CARRIERS)
def test_good_spec_passes(kind: str) -> None:
    obj = wrap(kind, good_pod_spec())
    assert len(pss.pods_in(obj)) == 1, "the pod spec was not found, so the check would pass vacuously"
    assert pss.check_object(obj) == []


@pytest.mark.parametrize("kind", CARRIERS)
def test_bad_spec_fails_in_every_carrier(kind: str) -> None:
    spec = good_pod_spec()
    spec["hostNetwork"] = True
    violations = pss.check_object(wrap(kind, spec))
    assert rules(violations) == {(None, "hostNamespaces")}
    assert kind in violations[0].object, "the violation must name the object"


def test_container_level_settings_instead_of_pod_level_pass() -> None:
    spec = good_pod_spec()
    del spec["securityContext"]
    for _, container in pss._containers(spec):
        container["securityContext"].update(runAsNonRoot=True, seccompProfile={"type": "Localhost", "localhostProfile": "p.json"})
    assert pss.check_object(pod(spec)) == []


def test_objects_without_pods_are_ignored() -> None:
    assert pss.check_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}) == []
    assert pss.check_object({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"airflow.cfg": "[core]\n"}}) == []
    assert pss.pods_in({"kind": "ConfigMap", "data": {"x.yaml": "kind: [unclosed"}}) == []


def test_violation_names_object_container_and_rule() -> None:
    spec = good_pod_spec()
    spec["containers"][0]["securityContext"]["privileged"] = True
    (violation,) = pss.check_object(wrap("Deployment", spec))
    text = str(violation)
    assert "Deployment/w" in text and "'base'" in text and "privileged" in text


# ---------------------------------------------------------------- each rule fires (pod level)

Mutation = Callable[[Obj], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(spec: Obj) -> None:
        node = spec
        keys = path.split(".")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value

    return mutate


def _add_volume(volume: Obj) -> Mutation:
    return lambda spec: spec["volumes"].append(volume)


def _annotate(key: str, value: str) -> Mutation:
    return lambda spec: spec.setdefault("__annotations", {}).update({key: value})


POD_CASES: list[tuple[str, Mutation, str]] = [
    ("hostNetwork", _set("hostNetwork", True), "hostNamespaces"),
    ("hostPID", _set("hostPID", True), "hostNamespaces"),
    ("hostIPC", _set("hostIPC", True), "hostNamespaces"),
    ("hostProcess", _set("securityContext.windowsOptions", {"hostProcess": True}), "hostProcess"),
    ("hostPath", _add_volume({"name": "h", "hostPath": {"path": "/"}}), "volumeTypes"),
    ("nfs", _add_volume({"name": "n", "nfs": {"server": "s", "path": "/x"}}), "volumeTypes"),
    ("gitRepo", _add_volume({"name": "g", "gitRepo": {"repository": "r"}}), "volumeTypes"),
    ("portworxVolume", _add_volume({"name": "p", "portworxVolume": {"volumeID": "v"}}), "volumeTypes"),
    ("iscsi", _add_volume({"name": "i", "iscsi": {}}), "volumeTypes"),
    ("cephfs", _add_volume({"name": "c", "cephfs": {}}), "volumeTypes"),
    ("image-volume", _add_volume({"name": "img", "image": {"reference": "x"}}), "volumeTypes"),
    ("apparmor-pod", _set("securityContext.appArmorProfile", {"type": "Unconfined"}), "appArmor"),
    ("apparmor-annotation", _annotate(pss.APPARMOR_ANNOTATION_PREFIX + "base", "unconfined"), "appArmor"),
    ("selinux-type", _set("securityContext.seLinuxOptions", {"type": "spc_t"}), "seLinux"),
    ("selinux-user", _set("securityContext.seLinuxOptions", {"user": "root"}), "seLinux"),
    ("selinux-role", _set("securityContext.seLinuxOptions", {"role": "sysadm_r"}), "seLinux"),
    ("sysctl", _set("securityContext.sysctls", [{"name": "kernel.msgmax", "value": "1"}]), "sysctls"),
    ("runAsNonRoot-false", _set("securityContext.runAsNonRoot", False), "runAsNonRoot"),
    ("runAsUser-0", _set("securityContext.runAsUser", 0), "runAsUser"),
    ("seccomp-unconfined", _set("securityContext.seccompProfile", {"type": "Unconfined"}), "seccomp"),
]


def _pod_with(mutation: Mutation) -> Obj:
    spec = good_pod_spec()
    mutation(spec)
    obj = pod(spec)
    if "__annotations" in spec:
        obj["metadata"]["annotations"] = spec.pop("__annotations")
    return obj


@pytest.mark.parametrize(("mutation", "rule"), [(m, r) for _, m, r in POD_CASES], ids=[c[0] for c in POD_CASES])
def test_pod_level_rule_fires(mutation: Mutation, rule: str) -> None:
    violations = pss.check_object(_pod_with(mutation))
    assert (None, rule) in rules(violations), violations


def test_allowed_pod_level_values_pass() -> None:
    spec = good_pod_spec()
    spec["securityContext"].update(
        sysctls=[{"name": "net.ipv4.tcp_keepalive_time", "value": "60"}],
        seLinuxOptions={"type": "container_t", "level": "s0:c1,c2"},
        appArmorProfile={"type": "RuntimeDefault"},
    )
    spec["hostNetwork"] = False
    obj = pod(spec)
    obj["metadata"]["annotations"] = {pss.APPARMOR_ANNOTATION_PREFIX + "base": "runtime/default"}
    assert pss.check_object(obj) == []


def test_missing_pod_settings_are_reported_per_container() -> None:
    spec = good_pod_spec()
    del spec["securityContext"]["runAsNonRoot"]
    del spec["securityContext"]["seccompProfile"]
    found = rules(pss.check_object(pod(spec)))
    for container in ("init:wait-db", "base", "ephemeral:debug"):
        assert (container, "runAsNonRoot") in found
        assert (container, "seccomp") in found


# ---------------------------------------------------------------- each rule fires (container level)


def _csc(**values: Any) -> Callable[[Obj], None]:
    return lambda c: c["securityContext"].update(values)


CONTAINER_CASES: list[tuple[str, Callable[[Obj], None], str]] = [
    ("privileged", _csc(privileged=True), "privileged"),
    ("hostProcess", _csc(windowsOptions={"hostProcess": True}), "hostProcess"),
    ("cap-add-NET_ADMIN", _csc(capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]}), "capabilities"),
    ("cap-add-CHOWN", _csc(capabilities={"drop": ["ALL"], "add": ["CHOWN"]}), "capabilities"),
    ("cap-no-drop", _csc(capabilities={}), "capabilities"),
    ("cap-drop-not-all", _csc(capabilities={"drop": ["NET_RAW"]}), "capabilities"),
    ("cap-missing", lambda c: c["securityContext"].pop("capabilities"), "capabilities"),
    ("hostPort", lambda c: c["ports"][0].update(hostPort=8080), "hostPorts"),
    ("probe-host", lambda c: c["livenessProbe"]["httpGet"].update(host="10.0.0.1"), "hostProbesAndLifecycle"),
    ("tcp-probe-host", lambda c: c.update(readinessProbe={"tcpSocket": {"port": 1, "host": "node"}}), "hostProbesAndLifecycle"),
    ("lifecycle-host", lambda c: c.update(lifecycle={"preStop": {"httpGet": {"port": 1, "host": "h"}}}), "hostProbesAndLifecycle"),
    ("apparmor", _csc(appArmorProfile={"type": "Unconfined"}), "appArmor"),
    ("selinux", _csc(seLinuxOptions={"type": "unconfined_t"}), "seLinux"),
    ("procMount", _csc(procMount="Unmasked"), "procMount"),
    ("ape-true", _csc(allowPrivilegeEscalation=True), "allowPrivilegeEscalation"),
    ("ape-missing", lambda c: c["securityContext"].pop("allowPrivilegeEscalation"), "allowPrivilegeEscalation"),
    ("ape-no-securityContext", lambda c: c.pop("securityContext"), "allowPrivilegeEscalation"),
    ("runAsNonRoot-false", _csc(runAsNonRoot=False), "runAsNonRoot"),
    ("runAsUser-0", _csc(runAsUser=0), "runAsUser"),
    ("seccomp-unconfined", _csc(seccompProfile={"type": "Unconfined"}), "seccomp"),
]

CONTAINER_FIELDS = [("initContainers", "init:wait-db"), ("containers", "base"), ("ephemeralContainers", "ephemeral:debug")]


@pytest.mark.parametrize(("field", "label"), CONTAINER_FIELDS, ids=[f for f, _ in CONTAINER_FIELDS])
@pytest.mark.parametrize(("mutation", "rule"), [(m, r) for _, m, r in CONTAINER_CASES], ids=[c[0] for c in CONTAINER_CASES])
def test_container_level_rule_fires(field: str, label: str, mutation: Callable[[Obj], None], rule: str) -> None:
    spec = good_pod_spec()
    mutation(spec[field][0])
    violations = pss.check_object(wrap("StatefulSet", spec))
    assert (label, rule) in rules(violations), violations
    others = {c for c, _ in rules(violations)} - {label}
    assert not others, f"only the mutated container may be reported, got {violations}"


def test_net_bind_service_is_the_only_allowed_added_capability() -> None:
    spec = good_pod_spec()
    spec["containers"][0]["securityContext"]["capabilities"] = {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert pss.check_object(pod(spec)) == []


def test_check_objects_collects_across_objects() -> None:
    bad = good_pod_spec()
    bad["hostPID"] = True
    objs = [wrap("Deployment", good_pod_spec()), wrap("Job", copy.deepcopy(bad)), wrap("ConfigMap", bad)]
    assert [v.object.split("/")[0] for v in pss.check_objects(objs)] == ["Job", "ConfigMap"]
