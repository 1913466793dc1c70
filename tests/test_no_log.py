"""Every role task that reads or writes a secret hides its output, and no_log defaults to true."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib import nolog
from lib.specs import effective_default, role_defaults, role_dirs, role_options

ROLES = role_dirs()


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_secret_tasks_have_no_log(role: Path) -> None:
    files = nolog.role_task_files(role)
    assert files, f"{role.name}: no task files"
    problems = []
    for path in files:
        for ref in nolog.load_tasks(path):
            reasons = nolog.secret_reasons(ref.task, role)
            if reasons and not nolog.hides_output(ref.task, role.name):
                problems.append(
                    f"{path.relative_to(role)}: {ref.name!r} {'; '.join(reasons)} "
                    f"but has no no_log: \"{{{{ {role.name}_no_log }}}}\""
                )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_no_log_defaults_to_true(role: Path) -> None:
    defaults = role_defaults(role)
    switches = {k: effective_default(defaults, k) for k in defaults if k.endswith("_no_log")}
    assert f"{role.name}_no_log" in switches, f"{role.name}: defaults/main.yml has no {role.name}_no_log"
    wrong = {k: v for k, v in switches.items() if v is not True}
    assert not wrong, f"{role.name}: no_log switches must default to true: {wrong}"
    options = role_options(role) or {}
    for key in switches:
        spec = options.get(key) or {}
        assert spec.get("type") == "bool" and spec.get("default") is True, (
            f"{role.name}: argument spec of {key} must be type bool, default true: {spec}"
        )
