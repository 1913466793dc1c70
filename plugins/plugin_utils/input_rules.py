# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Input rules the argument specs cannot enforce, shared by the check_input action and the tests.

- Real types: Ansible validates a role's variables against meta/argument_specs.yml but hands the role the values as
  given, not as converted: the string "false" passes a bool option and then turns the feature on (a non-empty string
  is true), "8080" passes an int option and fails later in a comparison that names no variable. ``type_problems``
  refuses a string where the spec says bool, int or float, at any depth of the spec (suboptions, list elements).
- Values are data: ``template_problems`` refuses template syntax inside the (nested) strings of a variable, which
  Ansible would otherwise evaluate (a ``{{ ... }}`` given in a config value or an env value runs on the controller).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import typing as t

import yaml

# Namespaces of the cluster itself: Airflow's objects (and the Pod Security labels airflow_core sets) do not belong there
SYSTEM_NAMESPACES = frozenset(("default", "kube-system", "kube-public", "kube-node-lease"))
_TEMPLATE = re.compile(r"\{\{|\{%|\{#")
_NUMBER = {"int": (int,), "float": (int, float)}
# libyaml's parser when PyYAML has it: airflow_core's argument specs parse in 6 ms instead of 70 ms, and a run's
# input checks read them three times (the types of every role, then of each role's entry point).
_SPEC_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CLI_HINT = ("on the command line -e name=value always gives a string: pass JSON instead, "
             "e.g. -e '{{\"{top}\": {example}}}', or -e @vars.yml")


def spec_options(role_path: str, entry_point: str = "main") -> dict[str, t.Any]:
    """The options of one entry point of <role_path>/meta/argument_specs.yml."""
    path = os.path.join(str(role_path), "meta", "argument_specs.yml")
    with open(path, encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=_SPEC_LOADER) or {}  # noqa: S506 - a safe loader
    specs = data.get("argument_specs", data)
    if entry_point not in specs:
        raise KeyError(f"{path} has no entry point {entry_point!r}")
    return specs[entry_point].get("options") or {}


def _show(value: t.Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _type_word(value: t.Any) -> str:
    for kind, word in ((bool, "boolean"), (int, "number"), (float, "number"), (str, "string"), (dict, "dictionary"),
                       ((list, tuple), "list")):
        if isinstance(value, kind):
            return word
    return "null" if value is None else "value"


def _wrong_scalar(kind: str, value: t.Any) -> bool:
    if value is None:
        return False
    if kind == "bool":
        return not isinstance(value, bool)
    if kind in _NUMBER:
        return isinstance(value, bool) or not isinstance(value, _NUMBER[kind])
    return False


def _message(path: str, kind: str, value: t.Any, top: str, secret: bool) -> str:
    shown = "(a value, not shown)" if secret else _show(value)
    why = ("a quoted \"false\" would count as true." if kind == "bool"
           else "a quoted number is text, which the role's comparisons and Kubernetes refuse.")
    given = _type_word(value)
    example = {"bool": "false", "int": "8080", "float": "1.5"}[kind]
    word = {"bool": "a boolean (true or false, without quotes)", "int": "a whole number (without quotes)",
            "float": "a number (without quotes)"}[kind]
    return (f"{path}={shown} is a {given}, not {word}: {why} Write "
            f"it unquoted; " + _CLI_HINT.format(top=top, example=example if path == top else "{...}") + ".")


def type_problems(options: dict[str, t.Any], values: dict[str, t.Any]) -> list[str]:
    """A message for every value whose type is not the real bool/int/float its option declares."""
    problems: list[str] = []
    for name, spec in options.items():
        if name in values:
            _walk(spec or {}, values[name], name, name, problems)
    return problems


def _walk(spec: dict[str, t.Any], value: t.Any, path: str, top: str, problems: list[str]) -> None:
    kind = spec.get("type", "str")
    secret = bool(spec.get("no_log"))
    if kind in ("bool", "int", "float"):
        if _wrong_scalar(kind, value):
            problems.append(_message(path, kind, value, top, secret))
        return
    if kind == "str" and isinstance(value, (dict, list, tuple)):
        # the argument spec turns a dict or a list into its text
        problems.append(f"{path}={'(a value, not shown)' if secret else _show(value)} is a {_type_word(value)}, not a "
                        f"string: give the text itself.")
        return
    if kind in ("dict", "list") and value is not None and not isinstance(value, dict if kind == "dict" else (list, tuple)):
        # the argument spec turns "a,b" into a list and "k=v" into a dict, but the role gets the string
        shape = "a dictionary" if kind == "dict" else "a list"
        problems.append(f"{path}={'(a value, not shown)' if secret else _show(value)} is a {_type_word(value)}, not "
                        f"{shape}: write it as YAML or JSON {shape}; "
                        + _CLI_HINT.format(top=top, example="{...}" if kind == "dict" else "[...]") + ".")
        return
    if kind == "dict" and isinstance(value, dict) and spec.get("options"):
        for key, sub in spec["options"].items():
            if key in value:
                _walk(sub or {}, value[key], f"{path}.{key}", top, problems)
    elif kind == "list" and isinstance(value, list):
        elements = spec.get("elements")
        if elements in ("bool", "int", "float"):
            for n, item in enumerate(value):
                if _wrong_scalar(elements, item):
                    problems.append(_message(f"{path}[{n}]", elements, item, top, secret))
        elif elements == "dict" and spec.get("options"):
            for n, item in enumerate(value):
                if isinstance(item, dict):
                    for key, sub in spec["options"].items():
                        if key in item:
                            _walk(sub or {}, item[key], f"{path}[{n}].{key}", top, problems)


def template_problems(name: str, value: t.Any, is_template: t.Callable[[str], bool]) -> list[str]:
    """A message for every string nested in value (a variable as written) that Ansible would evaluate as a template.

    The variable itself may be a template (a default such as "{{ airflow_x | default([]) }}"): only the strings inside
    a dict or a list are data. is_template tells a string Ansible would evaluate (trusted and with template syntax)
    from one marked !unsafe, which stays literal.
    """
    problems: list[str] = []

    def walk(item: t.Any, path: str, nested: bool) -> None:
        if isinstance(item, dict):
            for key, sub in item.items():
                if isinstance(key, str) and _TEMPLATE.search(key):
                    problems.append(f"{path} has a key with template syntax ({{{{, {{% or {{#}}; keys are data: remove it.")
                walk(sub, f"{path}.{key}", True)
        elif isinstance(item, (list, tuple)):
            for n, sub in enumerate(item):
                walk(sub, f"{path}[{n}]", True)
        elif nested and isinstance(item, str) and _TEMPLATE.search(item) and is_template(item):
            problems.append(
                f"{path} holds template syntax ({{{{ ... }}}}, {{% ... %}} or {{# ... #}}), which Ansible would evaluate: "
                f"values are data. To keep such text literal (an Airflow setting that is itself a Jinja template, say), "
                f"mark it !unsafe in YAML (key: !unsafe '...'); to use another variable's value, set it in the "
                f"inventory without braces inside {name}.")

    walk(value, name, False)
    return problems


# ------------------------------------------------------------------------------ airflow.cfg, env, resources

_CFG_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_QUANTITY = re.compile(r"^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][-+]?[0-9]+)?$")
_SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "n": 1e-9, "u": 1e-6,
           "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


def quantity(value: t.Any) -> float | None:
    """The number a Kubernetes quantity stands for, None when value is not a quantity ("1GB", "250 millicores")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    m = _QUANTITY.match(value)
    if not m:
        return None
    sign, number, suffix = m.groups()
    factor = 10 ** int(suffix[1:]) if suffix and suffix[0] in "eE" else _SUFFIX[suffix or ""]
    return (-1 if sign == "-" else 1) * float(number) * factor


def config_problems(config: t.Any, name: str = "airflow_core_config") -> list[str]:
    """airflow.cfg as data: lowercase section and key names (Airflow lowercases them, so "Executor" would be a second
    executor key), and one-line scalar values (a line break would start another key, a fernet_key say)."""
    if not isinstance(config, dict):
        return []  # the role's shape rule reports it
    problems: list[str] = []
    for section, keys in config.items():
        if not isinstance(section, str) or not _CFG_NAME.match(section):
            problems.append(f"{name} has the section {_show(section)}: section names are lowercase letters, digits and _ "
                            f"(as in airflow.cfg, e.g. core); write it in lowercase.")
            continue
        if not isinstance(keys, dict):
            continue  # the role's shape rule reports it
        for key, value in keys.items():
            path = f"{name}.{section}.{key}"
            if not isinstance(key, str) or not _CFG_NAME.match(key):
                problems.append(f"{name}.{section} has the key {_show(key)}: keys are lowercase letters, digits and _ "
                                f"(Airflow reads them in lowercase, so another spelling of a key the role sets would "
                                f"duplicate it); write it in lowercase.")
            elif value is None or isinstance(value, (dict, list, tuple)):
                problems.append(f"{path} is a {_type_word(value)}: a setting is a string, "
                                f"number or boolean; write its value as it would appear in airflow.cfg.")
            elif isinstance(value, str) and ("\n" in value or "\r" in value):
                problems.append(f"{path} holds a line break, which would start another line (another key) of "
                                f"airflow.cfg: write the value on one line.")
    return problems


def env_problems(env: t.Any, reserved: t.Any = (), name: str = "airflow_core_env",
                 forbidden: t.Any = ()) -> list[str]:
    """A list of Kubernetes env entries: {name, value} or {name, valueFrom}, names unique and not among the reserved
    ones (those the role sets), values strings, and no AIRFLOW__SECTION__KEY that airflow_core_config's rules refuse
    (forbidden: [section, key] pairs; the executor is always refused)."""
    if not isinstance(env, list):
        return [f"{name}={_show(env)} must be a list of {{name, value}} or {{name, valueFrom}} entries."]
    reserved_set = {str(r).upper() for r in reserved}
    refused = {f"AIRFLOW__{s.upper()}__{k.upper()}" for s, k in [("core", "executor")] + [tuple(f) for f in forbidden]}
    problems: list[str] = []
    seen: set[str] = set()
    for n, item in enumerate(env):
        path = f"{name}[{n}]"
        if not isinstance(item, dict):
            problems.append(f"{path}={_show(item)} must be a dictionary {{name, value}} or {{name, valueFrom}}.")
            continue
        extra = sorted(set(map(str, item)) - {"name", "value", "valueFrom"})
        if extra:
            problems.append(f"{path} has the keys {extra}: an env entry has name and value (or valueFrom) only.")
        var = item.get("name")
        if not isinstance(var, str) or not _ENV_NAME.match(var):
            problems.append(f"{path}.name={_show(var)} is not an environment variable name: use letters, digits and _ "
                            f"(e.g. AIRFLOW__CORE__PARALLELISM).")
            continue
        upper = var.upper()
        if upper in reserved_set:
            problems.append(f"{path}.name={_show(var)} is set by the role (from its Secrets or its layout): remove it from "
                            f"{name}.")
        elif upper in refused or any(upper == r + "_CMD" or upper == r + "_SECRET" for r in refused):
            problems.append(f"{path}.name={_show(var)} sets an airflow.cfg key the role refuses in airflow_core_config too "
                            f"(the executor stays KubernetesExecutor; the fernet key, the database URL and the API and JWT "
                            f"secrets come from the role's Secrets): remove it.")
        if upper in seen:
            problems.append(f"{path}.name={_show(var)} appears twice in {name}: give each variable once.")
        seen.add(upper)
        has_value, has_from = "value" in item, "valueFrom" in item
        if has_value == has_from:
            problems.append(f"{path} ({var}) needs exactly one of value and valueFrom.")
        elif has_value and not isinstance(item["value"], str):
            problems.append(f"{path}.value ({var}) is a {_type_word(item['value'])}: Kubernetes takes env values as "
                            f"strings; quote it.")
        elif has_from and not isinstance(item["valueFrom"], dict):
            problems.append(f"{path}.valueFrom ({var}) must be a dictionary such as {{secretKeyRef: {{name, key}}}}.")
    return problems


def resources_problems(resources: t.Any, name: str) -> list[str]:
    """A container's resources: {requests: {...}, limits: {...}} of quantities, no limit below its request."""
    if resources is None or resources == {}:
        return []
    if not isinstance(resources, dict):
        return [f"{name}={_show(resources)} must be a dictionary {{requests: {{cpu, memory}}, limits: {{...}}}}."]
    problems: list[str] = []
    extra = sorted(set(map(str, resources)) - {"requests", "limits"})
    if extra:
        problems.append(f"{name} has the keys {extra}: use requests and limits.")
    parsed: dict[str, dict[str, float]] = {}
    for part in ("requests", "limits"):
        block = resources.get(part)
        if block is None:
            continue
        if not isinstance(block, dict):
            problems.append(f"{name}.{part}={_show(block)} must be a dictionary such as {{cpu: 250m, memory: 512Mi}}.")
            continue
        parsed[part] = {}
        for res, value in block.items():
            number = quantity(value)
            if number is None or number < 0:
                problems.append(f"{name}.{part}.{res}={_show(value)} is not a Kubernetes quantity: use one such as "
                                f"250m or 1 for cpu, 512Mi or 1Gi for memory (not 1GB or 250 millicores).")
            else:
                parsed[part][str(res)] = number
    for res, limit in parsed.get("limits", {}).items():
        request = parsed.get("requests", {}).get(res)
        if request is not None and limit < request:
            problems.append(f"{name}.limits.{res}={_show(resources['limits'][res])} is below "
                            f"{name}.requests.{res}={_show(resources['requests'][res])}: Kubernetes refuses a limit below "
                            f"its request; raise the limit or lower the request.")
    return problems


_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def name_problems(names: t.Any) -> list[str]:
    """{variable: name or list of names}: each non-empty name a DNS-1123 subdomain (StorageClass, Secret, IngressClass)."""
    problems: list[str] = []
    for path, value in (names or {}).items():
        items = value if isinstance(value, list) else [value]
        for n, item in enumerate(items):
            where = f"{path}[{n}]" if isinstance(value, list) else path
            if item == "" and not isinstance(value, list):
                continue
            if not isinstance(item, str) or len(item) > 253 or not _SUBDOMAIN.match(item):
                problems.append(f"{where}={_show(item)} is not a Kubernetes object name: use lowercase letters, digits, "
                                f"\"-\" and \".\", starting and ending with a letter or digit, at most 253 characters.")
    return problems


_PEER_KEYS = frozenset(("ipBlock", "namespaceSelector", "podSelector"))


def _cidr_problem(path: str, value: t.Any) -> str | None:
    try:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return f"{path}={_show(value)} is not a CIDR: use an address block such as 10.0.0.0/16 or 2001:db8::/64."
    return None


def peers_problems(peers: t.Any) -> list[str]:
    """{variable: list of NetworkPolicy peers}: each {ipBlock: {cidr, except}, namespaceSelector, podSelector}."""
    problems: list[str] = []
    for name, items in (peers or {}).items():
        if not isinstance(items, list):
            continue  # the argument spec refuses it
        for n, peer in enumerate(items):
            path = f"{name}[{n}]"
            if not isinstance(peer, dict) or not peer or set(map(str, peer)) - _PEER_KEYS:
                problems.append(f"{path}={_show(peer)} is not a NetworkPolicy peer: use {{ipBlock: {{cidr: 10.0.0.0/16}}}}, "
                                f"{{namespaceSelector: {{...}}}} and/or {{podSelector: {{...}}}}.")
                continue
            block = peer.get("ipBlock")
            if block is None:
                continue
            if not isinstance(block, dict) or set(map(str, block)) - {"cidr", "except"}:
                problems.append(f"{path}.ipBlock={_show(block)} must be {{cidr: <block>, except: [<blocks>]}}.")
                continue
            found = [_cidr_problem(f"{path}.ipBlock.cidr", block.get("cidr"))]
            excepts = block.get("except", [])
            if not isinstance(excepts, list):
                excepts = [excepts]
            found += [_cidr_problem(f"{path}.ipBlock.except[{m}]", e) for m, e in enumerate(excepts)]
            problems += [f for f in found if f]
    return problems


# ------------------------------------------------------------------------------ extension points (pods)
# What a user adds to the role's pods (volumes, mounts, init containers, sidecars, envFrom, labels, topology spread,
# probe timings, the worker pod template): shapes Kubernetes would refuse, names that collide with the role's, and
# what Pod Security "restricted" refuses (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
# The role merges its container security context under every container a user adds (tasks fill the rest), so only a
# value the user wrote can break restricted: each is refused here, naming the variable.

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_DATA_KEY = re.compile(r"^[-._A-Za-z0-9]{1,253}$")
RESTRICTED_VOLUME_TYPES = frozenset(("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                                     "projected", "secret"))
# Every volume source Kubernetes knows besides those (so a typo is told apart from a forbidden type)
_OTHER_VOLUME_TYPES = frozenset(("hostPath", "nfs", "iscsi", "glusterfs", "rbd", "cephfs", "cinder", "fc", "flocker",
                                 "flexVolume", "azureFile", "azureDisk", "vsphereVolume", "quobyte", "photonPersistentDisk",
                                 "portworxVolume", "scaleIO", "storageos", "gcePersistentDisk", "awsElasticBlockStore",
                                 "gitRepo", "image"))
_ALLOWED_CAPABILITIES = frozenset(("NET_BIND_SERVICE",))
_SECCOMP_TYPES = frozenset(("RuntimeDefault", "Localhost"))
_SELINUX_TYPES = frozenset(("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"))
_SAFE_SYSCTLS = frozenset(("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                           "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                           "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                           "net.ipv4.tcp_keepalive_probes"))
_PROBE_FIELDS = {"initialDelaySeconds": 0, "periodSeconds": 1, "timeoutSeconds": 1, "failureThreshold": 1}
_SPREAD_WHEN = ("DoNotSchedule", "ScheduleAnyway")
_HOST_FIELDS = ("hostNetwork", "hostPID", "hostIPC")
_FIX_SC = ("remove it: the namespace enforces Pod Security \"restricted\" and the role sets allowPrivilegeEscalation: "
           "false, capabilities.drop [ALL], runAsNonRoot and a RuntimeDefault seccomp profile for you")


def _is_int(value: t.Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def security_context_problems(sc: t.Any, path: str, pod: bool = False) -> list[str]:
    """A (pod or container) securityContext a user wrote: what restricted refuses."""
    if sc is None:
        return []
    if not isinstance(sc, dict):
        return [f"{path}={_show(sc)} must be a dictionary (a Kubernetes securityContext)."]
    problems: list[str] = []
    if sc.get("privileged") is True:
        problems.append(f"{path}.privileged=true is refused by Pod Security restricted: {_FIX_SC}.")
    if sc.get("allowPrivilegeEscalation") is True:
        problems.append(f"{path}.allowPrivilegeEscalation=true is refused by Pod Security restricted: {_FIX_SC}.")
    if sc.get("runAsNonRoot") is False:
        problems.append(f"{path}.runAsNonRoot=false is refused by Pod Security restricted: {_FIX_SC}.")
    if "runAsUser" in sc and sc["runAsUser"] == 0:
        problems.append(f"{path}.runAsUser=0 (root) is refused by Pod Security restricted: use a user id of 1 or more, "
                        f"or leave it out (the pod runs as the Airflow user).")
    caps = sc.get("capabilities")
    if caps is not None:
        if not isinstance(caps, dict):
            problems.append(f"{path}.capabilities={_show(caps)} must be a dictionary {{drop: [ALL]}}.")
        else:
            added = [c for c in caps.get("add") or [] if c not in _ALLOWED_CAPABILITIES]
            if added:
                problems.append(f"{path}.capabilities.add={_show(added)} is refused by Pod Security restricted (only "
                                f"NET_BIND_SERVICE may be added): remove it.")
            drop = caps.get("drop")
            if drop is not None and "ALL" not in (drop or []):
                problems.append(f"{path}.capabilities.drop={_show(drop)} must include ALL (Pod Security restricted): "
                                f"leave drop out and the role drops ALL.")
    seccomp = sc.get("seccompProfile")
    if seccomp is not None and (not isinstance(seccomp, dict) or seccomp.get("type") not in _SECCOMP_TYPES):
        problems.append(f"{path}.seccompProfile={_show(seccomp)} is refused by Pod Security restricted: use type "
                        f"RuntimeDefault or Localhost, or leave it out (the role sets RuntimeDefault).")
    apparmor = sc.get("appArmorProfile")
    if isinstance(apparmor, dict) and apparmor.get("type") == "Unconfined":
        problems.append(f"{path}.appArmorProfile.type=\"Unconfined\" is refused by Pod Security restricted: remove it.")
    selinux = sc.get("seLinuxOptions")
    if isinstance(selinux, dict) and (selinux.get("user") or selinux.get("role")
                                      or selinux.get("type", "") not in _SELINUX_TYPES):
        problems.append(f"{path}.seLinuxOptions={_show(selinux)} is refused by Pod Security restricted (no user or role; "
                        f"type one of container_t, container_init_t, container_kvm_t, container_engine_t).")
    if isinstance(sc.get("windowsOptions"), dict) and sc["windowsOptions"].get("hostProcess") is True:
        problems.append(f"{path}.windowsOptions.hostProcess=true is refused by Pod Security restricted: remove it.")
    if sc.get("procMount") not in (None, "Default"):
        problems.append(f"{path}.procMount={_show(sc.get('procMount'))} is refused by Pod Security restricted: remove it.")
    if pod:
        bad = [s.get("name") if isinstance(s, dict) else s for s in sc.get("sysctls") or []
               if not isinstance(s, dict) or s.get("name") not in _SAFE_SYSCTLS]
        if bad:
            problems.append(f"{path}.sysctls={_show(bad)} are not among the safe sysctls Pod Security allows: remove them.")
    return problems


def _check_item_name(where: str, name: t.Any, kind: str, reserved: set[str], seen: set[str], problems: list[str]) -> None:
    """The name of one item of a user's list of volumes or containers: a DNS-1123 label, not one of the role's own,
    not twice (seen collects the good ones)."""
    if not isinstance(name, str) or len(name) > 63 or not _DNS_LABEL.match(name):
        problems.append(f"{where}.name={_show(name)} is not a DNS-1123 label: use lowercase letters, digits and "
                        f"\"-\", at most 63 characters.")
    elif name in reserved:
        problems.append(f"{where}.name={_show(name)} is a {kind} of the role's own ({', '.join(sorted(reserved))}): "
                        f"choose another name.")
    elif name in seen:
        problems.append(f"{where}.name={_show(name)} appears twice: give each {kind} once.")
    else:
        seen.add(name)


def volume_problems(volumes: t.Any, path: str, reserved: t.Iterable[str] = ()) -> list[str]:
    """Volumes a user adds: {name, <one source>}, DNS-1123 names, unique, not the role's, restricted sources only."""
    if not isinstance(volumes, list):
        return [f"{path}={_show(volumes)} must be a list of Kubernetes volumes ({{name, configMap: ...}}, ...)."]
    problems: list[str] = []
    reserved_set = set(reserved)
    seen: set[str] = set()
    for n, vol in enumerate(volumes):
        where = f"{path}[{n}]"
        if not isinstance(vol, dict):
            problems.append(f"{where}={_show(vol)} must be a dictionary {{name, <source>}} such as "
                            f"{{name: scratch, emptyDir: {{}}}}.")
            continue
        vname = vol.get("name")
        _check_item_name(where, vname, "volume", reserved_set, seen, problems)
        sources = [k for k in vol if k != "name"]
        forbidden = [k for k in sources if k in _OTHER_VOLUME_TYPES]
        unknown = [k for k in sources if k not in _OTHER_VOLUME_TYPES and k not in RESTRICTED_VOLUME_TYPES]
        if forbidden:
            problems.append(f"{where} ({vname}) uses {', '.join(forbidden)}, a volume type Pod Security restricted "
                            f"refuses: use one of {', '.join(sorted(RESTRICTED_VOLUME_TYPES))} (a hostPath or NFS share "
                            f"goes through a PersistentVolume and a persistentVolumeClaim).")
        elif unknown:
            problems.append(f"{where} ({vname}) has the keys {_show(unknown)}, not a volume source: use one of "
                            f"{', '.join(sorted(RESTRICTED_VOLUME_TYPES))}.")
        elif len(sources) != 1:
            problems.append(f"{where} ({vname}) needs exactly one volume source ({', '.join(sorted(RESTRICTED_VOLUME_TYPES))}).")
    return problems


def mount_problems(mounts: t.Any, path: str, volumes: t.Iterable[str], reserved_paths: t.Iterable[str] = ()) -> list[str]:
    """volumeMounts a user adds: {name, mountPath}, the name a volume of the pod, not on a path the role mounts."""
    if not isinstance(mounts, list):
        return [f"{path}={_show(mounts)} must be a list of volume mounts ({{name, mountPath}})."]
    problems: list[str] = []
    known = set(volumes)
    taken = set(reserved_paths)
    for n, mount in enumerate(mounts):
        where = f"{path}[{n}]"
        if not isinstance(mount, dict):
            problems.append(f"{where}={_show(mount)} must be a dictionary {{name, mountPath}}.")
            continue
        mname, mpath = mount.get("name"), mount.get("mountPath")
        if mname not in known:
            problems.append(f"{where}.name={_show(mname)} is not a volume of this pod: add it to the extra volumes "
                            f"(volumes of the pod: {', '.join(sorted(map(str, known)))}).")
        if not isinstance(mpath, str) or not mpath.startswith("/"):
            problems.append(f"{where}.mountPath={_show(mpath)} must be an absolute path.")
        elif mpath.rstrip("/") in taken:
            problems.append(f"{where}.mountPath={_show(mpath)} is where the role mounts one of its own volumes: choose "
                            f"another path.")
    return problems


def env_from_problems(env_from: t.Any, path: str, role_secrets: t.Iterable[str] = (),
                      worker_secrets: t.Iterable[str] = ()) -> list[str]:
    """envFrom entries: {configMapRef: {name}} or {secretRef: {name}} (prefix, optional); none of the role's Secrets,
    and for worker pods none of the Secrets the worker must not hold (docs/security.md)."""
    if not isinstance(env_from, list):
        return [f"{path}={_show(env_from)} must be a list of {{configMapRef: {{name}}}} or {{secretRef: {{name}}}}."]
    problems: list[str] = []
    role_set, worker_set = set(role_secrets), set(worker_secrets)
    for n, item in enumerate(env_from):
        where = f"{path}[{n}]"
        refs = [k for k in ("configMapRef", "secretRef") if isinstance(item, dict) and k in item]
        if not isinstance(item, dict) or len(refs) != 1 or set(item) - {"configMapRef", "secretRef", "prefix"}:
            problems.append(f"{where}={_show(item)} must be {{configMapRef: {{name: ...}}}} or {{secretRef: {{name: ...}}}}"
                            f" (with prefix if wanted).")
            continue
        ref = item[refs[0]]
        rname = ref.get("name") if isinstance(ref, dict) else None
        if not isinstance(rname, str) or len(rname) > 253 or not _SUBDOMAIN.match(rname):
            problems.append(f"{where}.{refs[0]}.name={_show(rname)} is not a Kubernetes object name.")
        elif refs[0] == "secretRef" and rname in role_set:
            problems.append(f"{where}.secretRef.name={_show(rname)} is a Secret of the role's: each pod gets only the "
                            f"secrets it needs (docs/security.md, \"Which component holds which secret\"); remove it.")
        elif refs[0] == "secretRef" and rname in worker_set:
            problems.append(f"{where}.secretRef.name={_show(rname)} holds a secret of the deployment "
                            f"(airflow_core_existing_secrets) and {path} reaches the worker pods, which hold no secret "
                            f"of the deployment (docs/security.md): remove it.")
    return problems


def _secret_refs(item: t.Any) -> set[str]:
    """Names of the Secrets a container or volume list refers to (env valueFrom, envFrom, secret/projected volumes)."""
    found: set[str] = set()

    def walk(value: t.Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                if key in ("secretKeyRef", "secretRef") and isinstance(sub, dict) and isinstance(sub.get("name"), str):
                    found.add(sub["name"])
                elif key == "secret" and isinstance(sub, dict):
                    for field in ("secretName", "name"):
                        if isinstance(sub.get(field), str):
                            found.add(sub[field])
                walk(sub)
        elif isinstance(value, list):
            for sub in value:
                walk(sub)

    walk(item)
    return found


def container_problems(containers: t.Any, path: str, reserved: t.Iterable[str], volumes: t.Iterable[str]) -> list[str]:
    """Init containers or sidecars a user adds: name (DNS-1123, not the role's, unique), image, restricted security
    context, no host port, mounts of the pod's volumes."""
    if not isinstance(containers, list):
        return [f"{path}={_show(containers)} must be a list of Kubernetes containers ({{name, image, ...}})."]
    problems: list[str] = []
    reserved_set = set(reserved)
    seen: set[str] = set()
    for n, cont in enumerate(containers):
        where = f"{path}[{n}]"
        if not isinstance(cont, dict):
            problems.append(f"{where}={_show(cont)} must be a dictionary (a Kubernetes container: name, image, ...).")
            continue
        cname = cont.get("name")
        _check_item_name(where, cname, "container", reserved_set, seen, problems)
        if "image" in cont and (not isinstance(cont["image"], str) or not cont["image"]):
            problems.append(f"{where}.image={_show(cont['image'])} must name the container's image (or leave image out "
                            f"for the role's Airflow image).")
        problems += security_context_problems(cont.get("securityContext"), f"{where}.securityContext")
        for m, port in enumerate(cont.get("ports") or []):
            if isinstance(port, dict) and port.get("hostPort"):
                problems.append(f"{where}.ports[{m}].hostPort={_show(port['hostPort'])} is refused (Pod Security "
                                f"baseline and restricted): remove it.")
        if "volumeMounts" in cont:
            problems += mount_problems(cont["volumeMounts"], f"{where}.volumeMounts", volumes)
        if "env" in cont and not isinstance(cont["env"], list):
            problems.append(f"{where}.env must be a list of {{name, value}} entries.")
    return problems


def label_problems(labels: t.Any, path: str, reserved_keys: t.Iterable[str] = (), reserved_prefixes: t.Iterable[str] = ()) -> list[str]:
    """Pod labels a user adds: valid keys and values, none of the keys the role sets (its selectors read them)."""
    if not isinstance(labels, dict):
        return [f"{path}={_show(labels)} must be a dictionary of label: value."]
    problems: list[str] = []
    keys, prefixes = set(reserved_keys), tuple(reserved_prefixes)
    for key, value in labels.items():
        prefix, _sep, label = str(key).rpartition("/")
        if (not isinstance(key, str) or not label or len(label) > 63 or not _LABEL_NAME.match(label)
                or (prefix and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)))):
            problems.append(f"{path} has the key {_show(key)}, not a label key ([prefix/]name: letters, digits, "
                            f"\"-\", \"_\", \".\", name at most 63).")
        elif key in keys or key.startswith(prefixes):
            problems.append(f"{path}.{key} is a label the role sets (its Deployments, Services, PodDisruptionBudgets "
                            f"and NetworkPolicies select on them: {', '.join(sorted(keys))}, {', '.join(prefixes)}*): "
                            f"use a key of your own.")
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            problems.append(f"{path}.{key}={_show(value)} is not a label value: a quoted string of letters, digits, "
                            f"\"-\", \"_\", \".\", at most 63 characters.")
    return problems


def spread_problems(constraints: t.Any, path: str) -> list[str]:
    """topologySpreadConstraints: maxSkew >= 1, topologyKey, whenUnsatisfiable (labelSelector: the role's selector
    labels when left out)."""
    if not isinstance(constraints, list):
        return [f"{path}={_show(constraints)} must be a list of topologySpreadConstraints."]
    problems: list[str] = []
    for n, item in enumerate(constraints):
        where = f"{path}[{n}]"
        if not isinstance(item, dict):
            problems.append(f"{where}={_show(item)} must be a dictionary {{maxSkew, topologyKey, whenUnsatisfiable}}.")
            continue
        if not _is_int(item.get("maxSkew")) or item["maxSkew"] < 1:
            problems.append(f"{where}.maxSkew={_show(item.get('maxSkew'))} must be a whole number of 1 or more.")
        if not isinstance(item.get("topologyKey"), str) or not item["topologyKey"]:
            problems.append(f"{where}.topologyKey={_show(item.get('topologyKey'))} must be a node label key such as "
                            f"topology.kubernetes.io/zone.")
        if item.get("whenUnsatisfiable") not in _SPREAD_WHEN:
            problems.append(f"{where}.whenUnsatisfiable={_show(item.get('whenUnsatisfiable'))} must be "
                            f"DoNotSchedule or ScheduleAnyway.")
        if "labelSelector" in item and not isinstance(item["labelSelector"], dict):
            problems.append(f"{where}.labelSelector must be a dictionary (matchLabels...); leave it out to spread the "
                            f"component's own pods.")
    return problems


def probe_problems(probes: t.Any, path: str, allowed: t.Iterable[str]) -> list[str]:
    """Probe timings: {liveness|readiness|startup: {initialDelaySeconds, periodSeconds, timeoutSeconds, failureThreshold}}."""
    allowed = list(allowed)
    if not isinstance(probes, dict):
        return [f"{path}={_show(probes)} must be a dictionary of probes ({', '.join(allowed)}) and their timings."]
    problems: list[str] = []
    for probe, timings in probes.items():
        if probe not in allowed:
            problems.append(f"{path}.{probe}: this container has no such probe; it has {', '.join(allowed) or 'none'}.")
            continue
        if not isinstance(timings, dict):
            problems.append(f"{path}.{probe}={_show(timings)} must be a dictionary of {', '.join(_PROBE_FIELDS)}.")
            continue
        for key, value in timings.items():
            if key not in _PROBE_FIELDS:
                problems.append(f"{path}.{probe}.{key} is not a probe timing: use {', '.join(_PROBE_FIELDS)}.")
            elif not _is_int(value) or value < _PROBE_FIELDS[key]:
                problems.append(f"{path}.{probe}.{key}={_show(value)} must be a whole number of {_PROBE_FIELDS[key]} or more.")
    return problems


def object_data_problems(objects: t.Any, path: str, reserved: t.Iterable[str], secret: bool) -> list[str]:
    """ConfigMaps or Secrets the role writes for the user: {name: {key: text}}. A Secret's values are never shown."""
    if not isinstance(objects, dict):
        return [f"{path} must be a dictionary of object name: {{key: text}}."]
    problems: list[str] = []
    reserved_set = set(reserved)
    for oname, data in objects.items():
        where = f"{path}.{oname}"
        if not isinstance(oname, str) or len(oname) > 253 or not _SUBDOMAIN.match(oname):
            problems.append(f"{path} has the name {_show(oname)}, not a Kubernetes object name: use lowercase letters, "
                            f"digits, \"-\" and \".\".")
        elif oname in reserved_set:
            problems.append(f"{where} is an object of the role's own ({', '.join(sorted(reserved_set))}): choose another name.")
        if not isinstance(data, dict):
            problems.append(f"{where} must be a dictionary of key: text.")
            continue
        for key, value in data.items():
            if not isinstance(key, str) or not _DATA_KEY.match(key):
                problems.append(f"{where} has the key {_show(key)}: keys are letters, digits, \"-\", \"_\" and \".\".")
            if not isinstance(value, str):
                shown = "(a value, not shown)" if secret else _show(value)
                problems.append(f"{where}.{key}={shown} is a {_type_word(value)}: a value is text; quote it.")
    return problems


def pod_override_problems(override: t.Any, mode: t.Any, path: str, reserved_containers: t.Iterable[str],
                          volumes: t.Iterable[str], forbidden_secrets: t.Iterable[str]) -> list[str]:
    """The worker pod template override: a Pod (metadata, spec) merged over the rendered one or replacing it. What
    restricted refuses, a missing container "base" (replace), and any Secret of the deployment are refused."""
    if mode not in ("merge", "replace"):
        return [f"{path}_mode={_show(mode)} must be merge (the override is merged over the rendered pod, containers "
                f"and volumes by name) or replace (the override is the pod)."]
    if not isinstance(override, dict):
        return [f"{path}={_show(override)} must be a dictionary (a Pod: metadata, spec)."]
    if not override:
        return []
    problems: list[str] = []
    unknown = sorted(set(map(str, override)) - {"apiVersion", "kind", "metadata", "spec"})
    if unknown:
        problems.append(f"{path} has the keys {unknown}: a pod template has apiVersion, kind, metadata and spec.")
    spec = override.get("spec") or {}
    if not isinstance(spec, dict):
        return problems + [f"{path}.spec must be a dictionary (a PodSpec)."]
    for field in _HOST_FIELDS:
        if spec.get(field) is True:
            problems.append(f"{path}.spec.{field}=true is refused by Pod Security baseline and restricted: remove it.")
    problems += security_context_problems(spec.get("securityContext"), f"{path}.spec.securityContext", pod=True)
    own_volumes = [v.get("name") for v in spec.get("volumes") or [] if isinstance(v, dict)]
    if "volumes" in spec:
        # merge: a volume of the role's name is merged over the role's (by name)
        problems += volume_problems(spec["volumes"], f"{path}.spec.volumes")
    all_volumes = set(volumes) | set(map(str, own_volumes)) if mode == "merge" else set(map(str, own_volumes))
    names = [c.get("name") for c in spec.get("containers") or [] if isinstance(c, dict)]
    for field in ("initContainers", "containers"):
        if field not in spec:
            continue
        items = spec[field]
        if field == "containers" and isinstance(items, list):
            # base is the worker container itself: in merge mode it is merged over the role's, by name
            others = [c for c in items if not (isinstance(c, dict) and c.get("name") == "base")]
            bases = [c for c in items if isinstance(c, dict) and c.get("name") == "base"]
            problems += container_problems(others, f"{path}.spec.containers", reserved_containers, all_volumes)
            for b in bases:
                problems += security_context_problems(b.get("securityContext"), f"{path}.spec.containers[base].securityContext")
                if "volumeMounts" in b:
                    problems += mount_problems(b["volumeMounts"], f"{path}.spec.containers[base].volumeMounts", all_volumes)
                for m, port in enumerate(b.get("ports") or []):
                    if isinstance(port, dict) and port.get("hostPort"):
                        problems.append(f"{path}.spec.containers[base].ports[{m}].hostPort is refused: remove it.")
        else:
            problems += container_problems(items, f"{path}.spec.{field}", reserved_containers, all_volumes)
    if mode == "replace" and "base" not in names:
        problems.append(f"{path}: a replacing worker pod template needs a container named base (the KubernetesExecutor "
                        f"runs the task in it).")
    leaked = sorted(_secret_refs(spec) & set(forbidden_secrets))
    if leaked:
        problems.append(f"{path} refers to the Secrets {', '.join(leaked)}, which hold the deployment's secrets: worker "
                        f"pods hold none (docs/security.md, \"Which component holds which secret\"); remove them.")
    return problems


def extension_problems(spec: t.Any) -> list[str]:
    """Every extension point of airflow_core at once (tasks/preflight.yml passes _airflow_core_extension_check).

    spec: {common: {variable: value} for the volumes, mounts and envFrom of every Airflow container; components:
    {variable: {settings, probes (the probes the main container has), airflow (gets the common ones), worker}};
    role: {volumes, containers, mount_paths, objects, role_secrets, worker_secrets, label_keys, label_prefixes};
    configmaps; secrets (values never shown)}.
    """
    role = spec.get("role", {})
    common = spec.get("common", {})
    problems: list[str] = []
    role_volumes = list(role.get("volumes", []))
    vol_name, mount_name, env_from_name = ("airflow_core_extra_volumes", "airflow_core_extra_volume_mounts",
                                           "airflow_core_env_from")
    common_volumes = common.get(vol_name, [])
    problems += volume_problems(common_volumes, vol_name, role_volumes)
    common_names = [v.get("name") for v in common_volumes if isinstance(v, dict)] if isinstance(common_volumes, list) else []
    problems += mount_problems(common.get(mount_name, []), mount_name, role_volumes + common_names, role.get("mount_paths", []))
    problems += env_from_problems(common.get(env_from_name, []), env_from_name, role.get("role_secrets", []),
                                  role.get("worker_secrets", []))
    worker_forbidden = set(role.get("role_secrets", [])) | set(role.get("worker_secrets", []))
    leaked = sorted((_secret_refs(common_volumes) | _secret_refs(common.get(env_from_name, []))) & worker_forbidden)
    if leaked:
        problems.append(f"{vol_name} refers to the Secrets {', '.join(leaked)}, which hold the deployment's secrets, and "
                        f"reaches the worker pods, which hold none (docs/security.md): remove them.")
    for var, comp in (spec.get("components") or {}).items():
        s = comp.get("settings")
        if not isinstance(s, dict):
            continue
        base = role_volumes + (common_names if comp.get("airflow") else []) + list(comp.get("own_volumes", []))
        own = s.get("extra_volumes", [])
        problems += volume_problems(own, f"{var}.extra_volumes", base)
        volumes = base + ([v.get("name") for v in own if isinstance(v, dict)] if isinstance(own, list) else [])
        problems += mount_problems(s.get("extra_volume_mounts", []), f"{var}.extra_volume_mounts", volumes,
                                   role.get("mount_paths", []))
        for field in ("extra_init_containers", "extra_containers"):
            problems += container_problems(s.get(field, []), f"{var}.{field}", role.get("containers", []), volumes)
        problems += env_from_problems(s.get("env_from", []), f"{var}.env_from", role.get("role_secrets", []),
                                      role.get("worker_secrets", []) if comp.get("worker") else [])
        problems += label_problems(s.get("pod_labels", {}), f"{var}.pod_labels", role.get("label_keys", []),
                                   role.get("label_prefixes", []))
        problems += spread_problems(s.get("topology_spread_constraints", []), f"{var}.topology_spread_constraints")
        if "probes" in s:
            problems += probe_problems(s["probes"], f"{var}.probes", comp.get("probes", []))
        if comp.get("worker"):
            leaked = sorted(_secret_refs([s.get(k) for k in ("extra_volumes", "extra_init_containers", "extra_containers")])
                            & worker_forbidden)
            if leaked:
                problems.append(f"{var} refers to the Secrets {', '.join(leaked)}, which hold the deployment's secrets: "
                                f"worker pods hold none (docs/security.md); remove them.")
            problems += pod_override_problems(s.get("pod_template", {}), s.get("pod_template_mode", "merge"),
                                              f"{var}.pod_template", role.get("containers", []), volumes, worker_forbidden)
    problems += object_data_problems(spec.get("configmaps", {}), "airflow_core_extra_configmaps", role.get("objects", []), False)
    problems += object_data_problems(spec.get("secrets", {}), "airflow_core_extra_secrets", role.get("objects", []), True)
    return problems
