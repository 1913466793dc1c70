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
_CLI_HINT = ("on the command line -e name=value always gives a string: pass JSON instead, "
             "e.g. -e '{{\"{top}\": {example}}}', or -e @vars.yml")


def spec_options(role_path: str, entry_point: str = "main") -> dict[str, t.Any]:
    """The options of one entry point of <role_path>/meta/argument_specs.yml."""
    path = os.path.join(str(role_path), "meta", "argument_specs.yml")
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
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
