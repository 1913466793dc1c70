"""Read roles' defaults and argument specs, and compare them."""

from __future__ import annotations

import json
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
        if "default" in spec and key in defaults and not same_value(spec["default"], defaults[key]):
            problems.append(f"{key}: argument spec default {spec['default']!r} != defaults/main.yml {defaults[key]!r}")
    return problems


def same_value(a: Any, b: Any) -> bool:
    """Equal, and of the same JSON type (True is not 1, "1" is not 1)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
