"""Pod Security Standards checker: profile ``restricted`` (which includes ``baseline``).

Our own implementation of the Kubernetes Pod Security Standards as enforced by the Pod Security
admission controller for Kubernetes 1.34 (k8s.io/pod-security-admission v0.34, checks
``policy/check_*.go``), so the render output can be checked without a cluster.

Deliberate differences from the admission controller, all stricter:

* volume types: only the eight types in CONTRIBUTING.md are allowed; the admission controller also
  admits ``image`` volumes, which this collection does not use;
* no exemption for Windows pods (``spec.os.name: windows``) nor for user-namespace pods
  (``hostUsers: false``): every pod of this collection is a Linux pod and must comply as is.

Entry points: :func:`check_object` (any object; returns ``[]`` for objects without pods),
:func:`check_objects`, :func:`pods_in` (the pods an object carries, including Pod manifests embedded
as YAML in ConfigMap data, e.g. the worker ``pod_template_file.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import yaml

Obj = dict[str, Any]

# Kinds whose pod template sits at spec.template (Job included: spec.template too).
_TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"})

ALLOWED_VOLUME_TYPES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
# Fields of a Volume that are not a volume source.
_VOLUME_META_FIELDS = frozenset({"name"})

ALLOWED_ADD_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})  # restricted (baseline allows more)
ALLOWED_SECCOMP = frozenset({"RuntimeDefault", "Localhost"})
ALLOWED_APPARMOR = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
ALLOWED_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
ALLOWED_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)

# Rule identifiers (one per control of the standard).
RULES = (
    "hostProcess",
    "hostNamespaces",
    "privileged",
    "capabilities",
    "volumeTypes",
    "hostPorts",
    "hostProbesAndLifecycle",
    "appArmor",
    "seLinux",
    "procMount",
    "seccomp",
    "sysctls",
    "allowPrivilegeEscalation",
    "runAsNonRoot",
    "runAsUser",
)


@dataclass(frozen=True)
class Violation:
    """One broken rule: which object, which container (None = pod level), which rule, what is wrong."""

    object: str
    container: str | None
    rule: str
    detail: str

    def __str__(self) -> str:
        where = f"container {self.container!r}" if self.container else "pod"
        return f"{self.object}: {where}: {self.rule}: {self.detail}"


@dataclass(frozen=True)
class Pod:
    """A pod found in an object: a display name, its metadata and its spec."""

    name: str
    metadata: Obj
    spec: Obj


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def object_name(obj: Obj) -> str:
    """``Kind/namespace/name`` (namespace omitted when absent)."""
    meta = _dict(obj.get("metadata"))
    parts = [str(obj.get("kind", "?"))]
    if meta.get("namespace"):
        parts.append(str(meta["namespace"]))
    parts.append(str(meta.get("name", "?")))
    return "/".join(parts)


def embedded_pods(obj: Obj) -> Iterator[tuple[str, Obj]]:
    """Pod manifests stored as YAML strings in a ConfigMap's data (key, parsed Pod)."""
    if obj.get("kind") != "ConfigMap":
        return
    for key, value in _dict(obj.get("data")).items():
        if not isinstance(value, str) or "kind" not in value:
            continue
        try:
            docs = list(yaml.safe_load_all(value))
        except yaml.YAMLError:
            continue
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind") == "Pod":
                yield str(key), doc


def pods_in(obj: Obj) -> list[Pod]:
    """Every pod an object defines: its own pod template, or Pods embedded in ConfigMap data."""
    if not isinstance(obj, dict):
        return []
    kind = obj.get("kind")
    name = object_name(obj)
    spec = _dict(obj.get("spec"))
    if kind == "Pod":
        return [Pod(name, _dict(obj.get("metadata")), spec)]
    if kind in _TEMPLATE_KINDS:
        template = _dict(spec.get("template"))
        return [Pod(name, _dict(template.get("metadata")), _dict(template.get("spec")))]
    if kind == "PodTemplate":
        template = _dict(obj.get("template"))
        return [Pod(name, _dict(template.get("metadata")), _dict(template.get("spec")))]
    if kind == "CronJob":
        template = _dict(_dict(_dict(spec.get("jobTemplate")).get("spec")).get("template"))
        return [Pod(name, _dict(template.get("metadata")), _dict(template.get("spec")))]
    if kind == "ConfigMap":
        return [
            Pod(f"{name}[{key}] {object_name(pod)}", _dict(pod.get("metadata")), _dict(pod.get("spec")))
            for key, pod in embedded_pods(obj)
        ]
    return []


def _containers(spec: Obj) -> Iterator[tuple[str, Obj]]:
    """(label, container) for init, regular and ephemeral containers, like the admission visitor."""
    for field, label in (("initContainers", "init"), ("containers", ""), ("ephemeralContainers", "ephemeral")):
        for container in _list(spec.get(field)):
            container = _dict(container)
            name = str(container.get("name", "?"))
            yield (f"{label}:{name}" if label else name), container


def check_pod(pod: Pod) -> list[Violation]:
    """All ``restricted`` violations of one pod."""
    out: list[Violation] = []
    spec, meta = pod.spec, pod.metadata
    psc = _dict(spec.get("securityContext"))

    def bad(container: str | None, rule: str, detail: str) -> None:
        out.append(Violation(pod.name, container, rule, detail))

    # --- baseline, pod level
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field) is True:
            bad(None, "hostNamespaces", f"{field}=true")
    if _dict(psc.get("windowsOptions")).get("hostProcess") is True:
        bad(None, "hostProcess", "securityContext.windowsOptions.hostProcess=true")
    for volume in _list(spec.get("volumes")):
        volume = _dict(volume)
        # A volume with no source is defaulted to emptyDir by the API server: allowed.
        forbidden = [key for key in volume if key not in _VOLUME_META_FIELDS and key not in ALLOWED_VOLUME_TYPES]
        if forbidden:
            bad(None, "volumeTypes", f"volume {volume.get('name')!r} uses {', '.join(forbidden)}")
    apparmor = _dict(psc.get("appArmorProfile"))
    if apparmor and apparmor.get("type") not in ALLOWED_APPARMOR:
        bad(None, "appArmor", f"securityContext.appArmorProfile.type={apparmor.get('type')!r}")
    for key, value in _dict(meta.get("annotations")).items():
        if str(key).startswith(APPARMOR_ANNOTATION_PREFIX):
            value = str(value or "")
            if value and value != "runtime/default" and not value.startswith("localhost/"):
                bad(None, "appArmor", f"annotation {key}={value!r}")
    _check_selinux(_dict(psc.get("seLinuxOptions")), lambda d: bad(None, "seLinux", d))
    for sysctl in _list(psc.get("sysctls")):
        name = _dict(sysctl).get("name")
        if name not in ALLOWED_SYSCTLS:
            bad(None, "sysctls", f"sysctl {name!r} is not in the safe set")

    # --- restricted, pod level
    pod_non_root = psc.get("runAsNonRoot")
    if pod_non_root is False:
        bad(None, "runAsNonRoot", "securityContext.runAsNonRoot=false")
    if psc.get("runAsUser") == 0:
        bad(None, "runAsUser", "securityContext.runAsUser=0")
    pod_seccomp = _dict(psc.get("seccompProfile"))
    pod_seccomp_ok = pod_seccomp.get("type") in ALLOWED_SECCOMP
    if pod_seccomp and not pod_seccomp_ok:
        bad(None, "seccomp", f"securityContext.seccompProfile.type={pod_seccomp.get('type')!r}")

    # --- container level (init, regular, ephemeral)
    for cname, container in _containers(spec):
        csc = _dict(container.get("securityContext"))

        def cbad(rule: str, detail: str, cname: str = cname) -> None:
            bad(cname, rule, detail)

        if csc.get("privileged") is True:
            cbad("privileged", "securityContext.privileged=true")
        if _dict(csc.get("windowsOptions")).get("hostProcess") is True:
            cbad("hostProcess", "securityContext.windowsOptions.hostProcess=true")
        caps = _dict(csc.get("capabilities"))
        added = [str(c) for c in _list(caps.get("add")) if str(c) not in ALLOWED_ADD_CAPABILITIES]
        if added:
            cbad("capabilities", f"capabilities.add includes {', '.join(added)} (only NET_BIND_SERVICE allowed)")
        if "ALL" not in [str(c) for c in _list(caps.get("drop"))]:
            cbad("capabilities", 'capabilities.drop must include "ALL"')
        for port in _list(container.get("ports")):
            host_port = _dict(port).get("hostPort")
            if host_port not in (None, 0):
                cbad("hostPorts", f"hostPort {host_port}")
        for probe_field in ("livenessProbe", "readinessProbe", "startupProbe"):
            probe = _dict(container.get(probe_field))
            for handler in ("httpGet", "tcpSocket"):
                host = _dict(probe.get(handler)).get("host")
                if host:
                    cbad("hostProbesAndLifecycle", f"{probe_field}.{handler}.host={host!r}")
        lifecycle = _dict(container.get("lifecycle"))
        for hook in ("postStart", "preStop"):
            for handler in ("httpGet", "tcpSocket"):
                host = _dict(_dict(lifecycle.get(hook)).get(handler)).get("host")
                if host:
                    cbad("hostProbesAndLifecycle", f"lifecycle.{hook}.{handler}.host={host!r}")
        capparmor = _dict(csc.get("appArmorProfile"))
        if capparmor and capparmor.get("type") not in ALLOWED_APPARMOR:
            cbad("appArmor", f"securityContext.appArmorProfile.type={capparmor.get('type')!r}")
        _check_selinux(_dict(csc.get("seLinuxOptions")), lambda d, f=cbad: f("seLinux", d))
        if csc.get("procMount") not in (None, "Default"):
            cbad("procMount", f"securityContext.procMount={csc.get('procMount')!r}")
        if csc.get("allowPrivilegeEscalation") is not False:
            cbad("allowPrivilegeEscalation", "securityContext.allowPrivilegeEscalation must be false")
        if "runAsNonRoot" in csc and csc["runAsNonRoot"] is not None:
            if csc["runAsNonRoot"] is not True:
                cbad("runAsNonRoot", f"securityContext.runAsNonRoot={csc['runAsNonRoot']!r}")
        elif pod_non_root is not True:
            cbad("runAsNonRoot", "runAsNonRoot is not true on the pod nor on the container")
        if csc.get("runAsUser") == 0:
            cbad("runAsUser", "securityContext.runAsUser=0")
        cseccomp = _dict(csc.get("seccompProfile"))
        if cseccomp:
            if cseccomp.get("type") not in ALLOWED_SECCOMP:
                cbad("seccomp", f"securityContext.seccompProfile.type={cseccomp.get('type')!r}")
        elif not pod_seccomp_ok:
            cbad("seccomp", "seccompProfile.type RuntimeDefault or Localhost is set neither on the pod nor here")
    return out


def _check_selinux(options: Obj, report) -> None:
    if not options:
        return
    if (options.get("type") or "") not in ALLOWED_SELINUX_TYPES:
        report(f"seLinuxOptions.type={options.get('type')!r}")
    for field in ("user", "role"):
        if options.get(field):
            report(f"seLinuxOptions.{field} may not be set")


def check_object(obj: Obj) -> list[Violation]:
    """Violations of every pod an object carries ([] when it carries none)."""
    return [violation for pod in pods_in(obj) for violation in check_pod(pod)]


def check_objects(objects: Iterable[Obj]) -> list[Violation]:
    return [violation for obj in objects for violation in check_object(obj)]
