# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Refuse an ansible-core older than the collection's meta/runtime.yml `requires_ansible`, in words.

ansible-core only warns about `requires_ansible` ("Collection ... does not support Ansible version"), then runs
the plays; on 2.18 the first of our actions that uses a 2.19 interface (Templar.evaluate_conditional,
module_common._apply_action_arg_defaults) then dies with a Python AttributeError or ImportError. Every action
plugin of the collection returns refusal() first when there is one, so the first of them to run fails with a
message that says what to install.
"""

from __future__ import annotations

import re
from pathlib import Path

from ansible.release import __version__ as CORE_VERSION

RUNTIME_YML = Path(__file__).resolve().parents[2] / "meta" / "runtime.yml"


def _version(text: str) -> tuple[int, ...]:
    """(2, 18, 19) from '2.18.19', '2.19.0rc1' or '2.20.0.dev0'."""
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def minimum_core(runtime_yml: Path = RUNTIME_YML) -> str | None:
    """The lowest ansible-core meta/runtime.yml accepts (its `requires_ansible: ">=X.Y.Z"`), or None."""
    try:
        text = runtime_yml.read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(r"""^requires_ansible:\s*["']?>=\s*([0-9][0-9.]*)""", text, re.MULTILINE)
    return found.group(1) if found else None


def core_problem(version: str = CORE_VERSION, minimum: str | None = None) -> str | None:
    """Why this ansible-core cannot run the collection, or None when it can."""
    minimum = minimum or minimum_core()
    if minimum is None or _version(version) >= _version(minimum):
        return None
    return (f"airflow_k8s.platform needs ansible-core >= {minimum} (meta/runtime.yml requires_ansible); "
            f"this is ansible-core {version}. Install a supported one, e.g. pip install 'ansible-core>={minimum}' "
            f"(or the ansible package 12 or later).")


def refusal() -> dict | None:
    """The failed task result for an ansible-core that is too old (core_problem's message), or None."""
    problem = core_problem()
    return {"failed": True, "changed": False, "msg": problem} if problem else None
