# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Evaluates a role's input checks in one task and reports every failing one.

One ansible.builtin.assert task per rule costs a task's overhead each (the roles' derived variables are resolved
again for every task); this action evaluates a list of checks in one task, in the controller's process. Each
check's conditions and message are kept as written and evaluated here (finalize_task_arg), so a message is only
rendered when its check fails and may use values that are only defined then.
"""

from __future__ import annotations

import os
import re
import typing as t

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

# ansible-core 2.19 (meta/runtime.yml's minimum): on an older one run() refuses first, in words.
try:
    from ansible.template import is_trusted_as_template, trust_as_template
except ImportError:
    is_trusted_as_template = trust_as_template = None

from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import core_version, input_rules

# This collection's roles/ folder: plugins/action/<this file> -> the collection root.
_ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "roles")
_TEMPLATE_PART = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_ARGS = frozenset(("checks", "types", "literal"))
_KEYS = frozenset(("that", "msg", "when"))


def _conditions(value: t.Any, where: str) -> list[str]:
    """A check's `that` or `when`: a conditional or a list of them (all must hold)."""
    if isinstance(value, (str, bool)):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, (str, bool)) for v in value):
        return list(value)
    raise AnsibleError(f"check_input: {where} must be a condition or a non-empty list of conditions, got {value!r}")


def _term(condition: str | bool) -> str:
    """A condition as one term of a larger expression."""
    if isinstance(condition, bool):
        return "true" if condition else "false"
    return f"({condition})"


def check_spec(checks: t.Any) -> list[str]:
    """Problems with the shape of the checks argument (an empty list when it is well formed)."""
    if not isinstance(checks, list) or not checks:
        return ["checks must be a non-empty list of {that, msg[, when]}"]
    problems = []
    for n, check in enumerate(checks):
        if not isinstance(check, dict):
            problems.append(f"checks[{n}] must be a dictionary, got {type(check).__name__}")
            continue
        unknown = sorted(set(check) - _KEYS)
        if unknown:
            problems.append(f"checks[{n}] has unknown keys {unknown} (allowed: that, msg, when)")
        for key in ("that", "msg"):
            if key not in check:
                problems.append(f"checks[{n}] has no {key}")
        for key in ("that", "when"):
            if key in check:
                try:
                    _conditions(check[key], f"checks[{n}].{key}")
                except AnsibleError as e:
                    problems.append(str(e.message).removeprefix("check_input: "))
        if "msg" in check and not isinstance(check["msg"], str):
            problems.append(f"checks[{n}].msg must be a string")
    return problems


class ActionModule(ActionBase):
    """Action plugin behind airflow_k8s.platform.check_input."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    # ActionBase.finalize_task_arg is marked experimental in ansible-core 2.19 (meta/runtime.yml requires 2.19).
    # Without it the checks would be templated before run(): every message rendered, including those that use a
    # value defined only when their check fails (tests/unit/plugins/action/test_check_input.py would catch that).
    @classmethod
    def finalize_task_arg(cls, name: str, value: t.Any, templar: t.Any, context: t.Any) -> t.Any:
        if name == "checks":
            return value  # evaluated one by one in run(), messages only on failure
        return super().finalize_task_arg(name, value, templar, context)

    def run(self, tmp=None, task_vars=None):
        if refused := core_version.refusal():  # ansible-core older than meta/runtime.yml requires, in words
            return refused
        result = super().run(tmp, task_vars)
        del tmp
        checks = self._task.args.get("checks")
        unknown = sorted(set(self._task.args) - _ARGS)
        problems = check_spec(checks) + ([f"unknown arguments {unknown}"] if unknown else [])
        literal = self._task.args.get("literal", [])
        if not isinstance(literal, list) or not all(isinstance(n, str) for n in literal):
            problems.append("literal must be a list of variable names")
        if problems:
            return {**result, "failed": True, "msg": "check_input: " + "; ".join(problems)}

        # Before any rule: values that are templates, and strings where the argument spec says bool/int/float. The rules
        # below would evaluate such values (or fail on them with errors that name no variable).
        early = self._literal_problems(literal, task_vars or {}) + self._type_problems(self._task.args.get("types"), task_vars or {})
        if early:
            result["changed"] = False
            result["failed"] = True
            result["failures"] = early
            result["msg"] = early[0] if len(early) == 1 else (
                f"{len(early)} input errors:\n" + "\n".join(f"- {f}" for f in early))
            return result

        # Valid input (nearly every run): one expression for every check, in which each variable (a role's derived
        # variables, built from the role's defaults and the user's input) is resolved once, not once per condition.
        passed = self._all_pass(checks)
        if passed is not None:
            return {**result, "changed": False, "checked": passed, "msg": f"{passed} checks passed"}

        failures: list[str] = []
        evaluated = 0
        for n, check in enumerate(checks):
            try:
                if "when" in check and not all(self._holds(c) for c in _conditions(check["when"], "when")):
                    continue
                evaluated += 1
                if all(self._holds(c) for c in _conditions(check["that"], "that")):
                    continue
                failures.append(self._message(check["msg"]))
            except AnsibleError as e:
                # A check that cannot be evaluated (a value of the wrong type, say) fails with its message and why.
                failures.append(f"{self._message(check['msg'])} (checks[{n}] could not be evaluated: {e.message})")

        result["changed"] = False
        result["checked"] = evaluated
        if failures:
            result["failed"] = True
            result["failures"] = failures
            result["msg"] = failures[0] if len(failures) == 1 else (
                f"{len(failures)} input errors:\n" + "\n".join(f"- {f}" for f in failures))
        else:
            result["msg"] = f"{evaluated} checks passed"
        return result

    def _literal_problems(self, names: list[str], task_vars: dict[str, t.Any]) -> list[str]:
        problems: list[str] = []
        for name in names:
            if name in task_vars:
                problems += input_rules.template_problems(name, task_vars[name], is_trusted_as_template)
        return problems

    def _type_problems(self, types: t.Any, task_vars: dict[str, t.Any]) -> list[str]:
        """Real bool/int/float (and list/dict) values for every option of the entry points `types` names.

        types: an entry point of the task's role ("main"), or a list of "<role>:<entry point>" of this collection's
        roles (a play's first task checks every role's variables before any role's argument validation runs).
        """
        if not types:
            return []
        options: dict[str, t.Any] = {}
        for item in types if isinstance(types, list) else [types]:
            role_name, _sep, entry_point = str(item).rpartition(":")
            if role_name:
                role_path = os.path.join(_ROLES, role_name)
            else:
                role = getattr(self._task, "_role", None)
                if role is None:
                    raise AnsibleError("check_input: types without <role>: needs a task of a role")
                role_path = role._role_path
            options.update(input_rules.spec_options(role_path, entry_point))
        names = [name for name in options if name in task_vars]
        try:
            # One expression for every variable: one template compiled instead of one per variable (about 50 for a role).
            resolved = self._templar.evaluate_expression(trust_as_template("[" + ", ".join(names) + "]"))
        except AnsibleError:
            resolved = None  # one by one below, which fails on the variable that cannot be resolved, as before
        if isinstance(resolved, list) and len(resolved) == len(names):
            values = dict(zip(names, resolved))
        else:
            values = {name: self._templar.template(trust_as_template("{{ " + name + " }}")) for name in names}
        return input_rules.type_problems(options, values)

    def _all_pass(self, checks: list[dict]) -> int | None:
        """How many checks apply when every check that applies holds, from one evaluation of one expression; None
        otherwise, and when the checks cannot be evaluated as one expression (a condition that is not a trusted
        expression, a value that is not a boolean, an error): run() then evaluates them one by one, which names each
        failing check and why, as it did before this shortcut. The shortcut evaluates every condition of a check's
        `when` and, when the `when` holds, of its `that`, where one by one stops at the first false one: a condition
        that only a previous one's truth makes valid then errs here, which also sends run() the one-by-one way."""
        parts = []
        for check in checks:
            when = _conditions(check["when"], "when") if "when" in check else []
            that = _conditions(check["that"], "that")
            if not all(isinstance(c, bool) or (is_trusted_as_template(c) and not _TEMPLATE_PART.search(c))
                       for c in when + that):
                return None
            when_terms = [_term(c) for c in when]
            applies = " and ".join(when_terms) or "true"
            parts.append(f"[[{', '.join(when_terms)}], ([{', '.join(_term(c) for c in that)}] if ({applies}) else none)]")
        try:
            verdicts = self._templar.evaluate_expression(trust_as_template("[" + ", ".join(parts) + "]"))
        except AnsibleError:
            return None
        applied = 0
        for when, that in verdicts:
            if not all(v is True or v is False for v in when):
                return None
            if not all(when):
                continue
            if that is None or not all(v is True for v in that):
                return None  # a check fails (or gave no boolean): run() names it
            applied += 1
        return applied

    def _holds(self, condition: t.Any) -> bool:
        if isinstance(condition, bool):
            return condition
        return bool(self._templar.evaluate_conditional(conditional=condition))

    def _message(self, msg: str) -> str:
        try:
            return str(self._templar.template(msg)).strip()
        except AnsibleError as e:
            # Without its template source (an expression is not a message), the words name the variable
            text = " ".join(_TEMPLATE_PART.sub("(?)", msg).split())
            return f"{text} (the message could not be rendered: {e.message})"
