"""Read roles' defaults and argument specs, and compare them."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import yaml

from lib.ansible_run import REPO

ROLES_DIR = REPO / "roles"

# Variables the playbooks pass to every role (CONTRIBUTING.md, "Playbooks and shared inventory variables").
SHARED_VARIABLES = frozenset(
    {
        "airflow_namespace",
        "airflow_instance",
        "airflow_version",
        "airflow_image_repository",
        "airflow_image_tag",
        "airflow_image_pull_secrets",
        "airflow_storage_backend",
        "airflow_no_log",
        "airflow_render_dir",
        "airflow_kubeconfig",
        "airflow_kube_context",
    }
)


def role_dirs() -> list[Path]:
    if not ROLES_DIR.is_dir():
        return []
    return sorted(p for p in ROLES_DIR.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_yaml(path: Path) -> Any:
    """Plain YAML load; Ansible tags (!vault, !unsafe) load as their raw text."""
    return yaml.load(path.read_text(), Loader=_Loader)


class _Loader(yaml.SafeLoader):
    pass


def _ansible_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_Loader.add_multi_constructor("!", _ansible_tag)


def role_defaults(role: Path) -> dict[str, Any]:
    for name in ("main.yml", "main.yaml"):
        path = role / "defaults" / name
        if path.is_file():
            return load_yaml(path) or {}
    return {}


# A role default that falls back to a shared inventory value: "{{ airflow_x | default(<literal or role variable>) }}".
_FALLBACK = re.compile(r"^\{\{\s*(?P<shared>airflow_[a-z_]+)\s*\|\s*default\((?P<arg>.+)\)\s*\}\}$")


def effective_default(defaults: dict[str, Any], key: str, _seen: frozenset[str] = frozenset()) -> Any:
    """The value a role variable takes when neither it nor its shared fallback is set.

    "{{ airflow_namespace | default('airflow') }}" -> 'airflow'; "{{ airflow_image_tag | default(r_version) }}" ->
    the effective default of r_version. Anything else is returned as written.
    """
    value = defaults[key]
    if not isinstance(value, str):
        return value
    match = _FALLBACK.match(value.strip())
    if not match or match["shared"] in defaults:
        return value
    arg = match["arg"].strip()
    if arg in defaults and arg not in _seen:
        return effective_default(defaults, arg, _seen | {key})
    try:
        return ast.literal_eval(arg.replace("true", "True").replace("false", "False") if arg in ("true", "false") else arg)
    except (ValueError, SyntaxError):
        return value


def shared_fallback(value: Any) -> str | None:
    """The shared inventory variable a role default falls back to, or None."""
    match = _FALLBACK.match(value.strip()) if isinstance(value, str) else None
    return match["shared"] if match else None


def role_options(role: Path, entry_point: str = "main") -> dict[str, Any] | None:
    """The options of an entry point of meta/argument_specs.yml, or None when the file is missing."""
    for name in ("argument_specs.yml", "argument_specs.yaml"):
        path = role / "meta" / name
        if path.is_file():
            specs = (load_yaml(path) or {}).get("argument_specs") or {}
            return ((specs.get(entry_point) or {}).get("options")) or {}
    return None


def all_role_options() -> dict[str, tuple[str, dict[str, Any]]]:
    """option name -> (role name, option spec), over every role's main entry point."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for role in role_dirs():
        for key, spec in (role_options(role) or {}).items():
            found[key] = (role.name, spec or {})
    return found


def compare(defaults: dict[str, Any], options: dict[str, Any]) -> list[str]:
    """Problems between a defaults file and argument spec options (empty list = consistent)."""
    problems = []
    for key in sorted(set(defaults) - set(options)):
        problems.append(f"{key}: in defaults/main.yml but not in meta/argument_specs.yml")
    for key in sorted(set(options) - set(defaults)):
        problems.append(f"{key}: in meta/argument_specs.yml but not in defaults/main.yml")
    for key in sorted(options):
        spec = options[key] or {}
        if not spec.get("type"):
            problems.append(f"{key}: argument spec has no type")
        if not spec.get("description"):
            problems.append(f"{key}: argument spec has no description")
        if key not in defaults:
            continue
        default = effective_default(defaults, key)
        if spec.get("options") and spec.get("type") == "dict":
            problems.extend(_compare_suboptions(key, default, spec))
        elif "default" in spec and not same_value(spec["default"], default):
            problems.append(f"{key}: argument spec default {spec['default']!r} != defaults/main.yml {default!r}")
    return problems


def _compare_suboptions(key: str, default: Any, spec: dict[str, Any]) -> list[str]:
    """A dict with suboptions: its default is written once, in defaults/main.yml, and documented per suboption."""
    problems = []
    if "default" in spec:
        problems.append(f"{key}: argument spec repeats the whole dict as default; document it per suboption only")
    if not isinstance(default, dict):
        return [*problems, f"{key}: defaults/main.yml value is not a dict"]
    suboptions = spec["options"]
    for sub in sorted(set(default) - set(suboptions)):
        problems.append(f"{key}.{sub}: in defaults/main.yml but not a suboption in meta/argument_specs.yml")
    for sub in sorted(set(suboptions) - set(default)):
        problems.append(f"{key}.{sub}: a suboption in meta/argument_specs.yml but not in defaults/main.yml")
    for sub in sorted(set(suboptions) & set(default)):
        sub_spec = suboptions[sub] or {}
        if not sub_spec.get("type"):
            problems.append(f"{key}.{sub}: argument spec has no type")
        if not sub_spec.get("description"):
            problems.append(f"{key}.{sub}: argument spec has no description")
        if "default" not in sub_spec:
            problems.append(f"{key}.{sub}: argument spec has no default (defaults/main.yml: {default[sub]!r})")
        elif not same_value(sub_spec["default"], default[sub]):
            problems.append(f"{key}.{sub}: argument spec default {sub_spec['default']!r} != defaults/main.yml {default[sub]!r}")
    return problems


def same_value(a: Any, b: Any) -> bool:
    """Equal, and of the same JSON type (True is not 1, "1" is not 1)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
