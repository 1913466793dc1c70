# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Merge a dict variable a user set (perhaps partly) over its value in the role's defaults/main.yml."""

from __future__ import annotations

import os
from typing import Any

import yaml

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader


class _DefaultsLoader(_Loader):  # type: ignore[misc,valid-type]
    """Safe loader that reads Ansible tags (!unsafe, !vault) as their plain value."""


def _tagged(loader: Any, suffix: str, node: Any) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_DefaultsLoader.add_multi_constructor("!", _tagged)

# One parse per file and process (a worker process templates many variables of the same task).
_CACHE: dict[str, tuple[float, dict[str, Any]]] = {}


def role_defaults(role_path: str) -> dict[str, Any]:
    """The variables of <role_path>/defaults/main.yml, as written (templates are not evaluated)."""
    path = os.path.join(str(role_path), "defaults", "main.yml")
    mtime = os.stat(path).st_mtime
    cached = _CACHE.get(path)
    if cached is None or cached[0] != mtime:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_DefaultsLoader) or {}  # noqa: S506 - a SafeLoader subclass
        if not isinstance(data, dict):
            raise ValueError(f"{path} is not a mapping of variables")
        cached = (mtime, data)
        _CACHE[path] = cached
    return cached[1]


# This collection's roles/ folder: plugins/filter/<this file> -> the collection root.
_ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")


def _role_of(name: str) -> str:
    """The folder of this collection's role whose prefix the variable carries (airflow_core_scheduler -> airflow_core)."""
    roles = [r for r in os.listdir(_ROLES) if name.startswith(r + "_")] if os.path.isdir(_ROLES) else []
    if not roles:
        raise KeyError(f"{name} carries no role prefix of {_ROLES}")
    return os.path.join(_ROLES, max(roles, key=len))


def with_defaults(value: Any, name: str, role_path: str | None = None) -> Any:
    """Return the role default of `name` with the keys of `value` put over it, key by key.

    The default is read from <role_path>/defaults/main.yml; without role_path, from the defaults of this
    collection's role whose prefix `name` carries, so the result does not depend on the role being run (a play's
    task after the role reads the same value). A key the user sets replaces the default of that key whole (a
    `resources` given replaces the default `resources`); keys the user leaves out keep their default. None counts
    as {}. A value that is not a dict is returned unchanged, for the role's input checks to report.
    """
    defaults = role_defaults(role_path or _role_of(name))
    if name not in defaults:
        raise KeyError(f"{name} is not a variable of {role_path or _role_of(name)}/defaults/main.yml")
    base = defaults[name]
    if not isinstance(base, dict):
        raise TypeError(f"the default of {name} is not a dict")
    if value is None:
        value = {}
    if not isinstance(value, dict):
        return value
    merged = dict(base)
    merged.update(value)
    return merged


class FilterModule:
    """Role defaults filter."""

    def filters(self):
        return {"with_defaults": with_defaults}
