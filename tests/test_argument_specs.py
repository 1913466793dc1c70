"""meta/argument_specs.yml documents every public variable of defaults/main.yml, one for one."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.specs import compare, role_defaults, role_dirs, role_options

ROLES = role_dirs()
# Internal helper roles are exempt from the per-role convention variables (CONTRIBUTING.md, item 2).
INTERNAL_ROLES: frozenset[str] = frozenset()
CONVENTION_SUFFIXES = ("namespace", "instance", "render_dir", "no_log")


def test_roles_exist() -> None:
    assert ROLES, "no role under roles/"


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_argument_specs_match_defaults(role: Path) -> None:
    options = role_options(role)
    assert options is not None, f"{role.name}: meta/argument_specs.yml is missing"
    assert options, f"{role.name}: argument_specs.main.options is empty"
    problems = compare(role_defaults(role), options)
    assert not problems, f"{role.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_public_variables_carry_the_role_prefix(role: Path) -> None:
    wrong = [k for k in role_defaults(role) if not k.startswith(f"{role.name}_")]
    assert not wrong, f"{role.name}: defaults without the '{role.name}_' prefix: {wrong}"


@pytest.mark.parametrize("role", [r for r in ROLES if r.name not in INTERNAL_ROLES],
                         ids=[r.name for r in ROLES if r.name not in INTERNAL_ROLES])
def test_convention_variables_exist(role: Path) -> None:
    defaults = role_defaults(role)
    missing = [f"{role.name}_{s}" for s in CONVENTION_SUFFIXES if f"{role.name}_{s}" not in defaults]
    assert not missing, f"{role.name}: every role has these variables (CONTRIBUTING.md): {missing}"


def test_compare_detects_mismatches() -> None:
    """Self-check: the comparison fails on each kind of drift."""
    defaults = {"r_a": 1, "r_b": True, "r_only_defaults": "x", "r_c": "1"}
    options = {
        "r_a": {"type": "int", "description": "a", "default": 2},
        "r_b": {"type": "bool", "description": "b", "default": 1},
        "r_c": {"description": "no type", "default": 1},
        "r_only_spec": {"type": "str"},
    }
    problems = "\n".join(compare(defaults, options))
    for expected in ("r_only_defaults: in defaults", "r_only_spec: in meta", "r_only_spec: argument spec has no description",
                     "r_c: argument spec has no type", "r_a: argument spec default 2", "r_b: argument spec default 1",
                     "r_c: argument spec default 1"):
        assert expected in problems, f"not detected: {expected}\n{problems}"
    assert compare({"r_a": [1]}, {"r_a": {"type": "list", "description": "a", "default": [1]}}) == []
