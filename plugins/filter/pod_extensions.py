# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What a user adds to airflow_core's pods, in the shape the templates put into each pod (one source for every
component and the worker pod template), and the worker pod template override.

The input rules (plugins/plugin_utils/input_rules.py, extension_problems) have refused what Pod Security restricted
or the role's own names would not allow before these filters run; here the role's container security context is
merged under every container a user adds, so what the user leaves out (seccomp via the pod, capabilities, privilege
escalation, non-root) is filled in.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.airflow_k8s.platform.plugins.filter.labels import labels as role_labels
from ansible_collections.airflow_k8s.platform.plugins.filter.labels import selector_labels
from ansible_collections.airflow_k8s.platform.plugins.filter.with_defaults import with_defaults


# What a component with 2 or more replicas gets when its topology_spread_constraints is empty.
DEFAULT_SPREAD = {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}


def _copy(value: Any) -> Any:
    """A copy of nested dicts and lists (scalars are shared: copy.deepcopy fails on Ansible's tagged strings)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    return value


def _merge(base: Any, over: Any) -> Any:
    """over put over base: dicts key by key (recursively), lists of named items by name, anything else replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base[key], value) if key in base else _copy(value)
        return out
    if (isinstance(base, list) and isinstance(over, list) and over
            and all(isinstance(i, dict) and "name" in i for i in base + over)):
        out = [_copy(i) for i in base]
        index = {i["name"]: n for n, i in enumerate(out)}
        for item in over:
            if item["name"] in index:
                out[index[item["name"]]] = _merge(out[index[item["name"]]], item)
            else:
                out.append(_copy(item))
        return out
    return _copy(over)


def secure_container(container: dict[str, Any], security_context: dict[str, Any], image: str = "") -> dict[str, Any]:
    """A user's container with the role's container security context merged under its own (and the role's Airflow
    image when it names none)."""
    out = _copy(container)
    if image and not out.get("image"):
        out["image"] = image
    out["securityContext"] = _merge(security_context, container.get("securityContext") or {})
    return out


def pod_extras(settings: dict[str, Any], variable: str, component: str, instance: str, common: dict[str, Any],
               security_context: dict[str, Any], image: str = "") -> dict[str, Any]:
    """The additions of one component's pods.

    settings: the component's dict after with_defaults (variable names it, e.g. airflow_core_scheduler); component:
    its label (scheduler, worker...); common: {volumes, volume_mounts, env_from} every Airflow container gets ({}
    for statsd). Returns {volumes, volume_mounts, env_from, init_containers, containers, labels,
    topology_spread_constraints, probes}; probes are the role's timings with the user's put over them, probe by probe.
    image: the role's Airflow image, for a container that names none.
    """
    if not isinstance(settings, dict):
        raise AnsibleFilterError(f"pod_extras: {variable} is not a dictionary")
    common = common or {}
    default_probes = (with_defaults({}, variable).get("probes") or {})
    probes = {name: {**timings, **((settings.get("probes") or {}).get(name) or {})}
              for name, timings in default_probes.items()}
    selector = {"matchLabels": selector_labels(component, instance)}
    spread = [c if "labelSelector" in c else {**c, "labelSelector": selector}
              for c in settings.get("topology_spread_constraints") or []]
    if not spread and isinstance(settings.get("replicas"), int) and settings["replicas"] > 1:
        # Several pods of a component (2 schedulers, 2 api-servers): spread over nodes where the cluster has several,
        # soft, so that one node (kind, a single-node cluster) still schedules them all. A user's list replaces it.
        spread = [dict(DEFAULT_SPREAD, labelSelector=selector)]
    return {
        "volumes": list(common.get("volumes") or []) + list(settings.get("extra_volumes") or []),
        "volume_mounts": list(common.get("volume_mounts") or []) + list(settings.get("extra_volume_mounts") or []),
        "env_from": list(common.get("env_from") or []) + list(settings.get("env_from") or []),
        "init_containers": [secure_container(c, security_context, image) for c in settings.get("extra_init_containers") or []],
        "containers": [secure_container(c, security_context, image) for c in settings.get("extra_containers") or []],
        "labels": dict(settings.get("pod_labels") or {}),
        "topology_spread_constraints": spread,
        "probes": probes,
    }


def pod_override(pod: dict[str, Any], override: dict[str, Any], mode: str, instance: str, version: str,
                 security_context: dict[str, Any], pod_security_context: dict[str, Any]) -> dict[str, Any]:
    """The worker pod template with a team's override merged over it (mode merge: dicts key by key, containers,
    volumes, env... by name) or replacing it (mode replace). Whatever the override says, the role's labels stay (the
    NetworkPolicies select worker pods by them), the pod and every container get the role's security contexts under
    their own, and the container base comes first (the KubernetesExecutor puts the task's command into it)."""
    if not override:
        return pod
    if mode == "replace":
        out = {"apiVersion": "v1", "kind": "Pod", **_copy(override)}
    else:
        out = _merge(pod, override)
    metadata = out.setdefault("metadata", {})
    metadata.setdefault("name", "placeholder")
    metadata["labels"] = {**(metadata.get("labels") or {}), **role_labels("worker", instance, version)}
    spec = out.setdefault("spec", {})
    spec["securityContext"] = _merge(pod_security_context, spec.get("securityContext") or {})
    for field in ("initContainers", "containers"):
        if spec.get(field):
            spec[field] = [secure_container(c, security_context) for c in spec[field]]
    containers = spec.get("containers") or []
    spec["containers"] = [c for c in containers if c.get("name") == "base"] + [c for c in containers if c.get("name") != "base"]
    return out


class FilterModule:
    """Pod extension filters."""

    def filters(self):
        return {"pod_extras": pod_extras, "pod_override": pod_override}
