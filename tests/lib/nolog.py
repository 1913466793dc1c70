"""Static no_log check: which tasks touch secrets, and whether they hide their output.

A task touches a secret when its module arguments, ``vars`` or loop
* call a Kubernetes module (k8s, k8s_info...) with ``kind: Secret``, or
* render a role template that makes a ``kind: Secret`` (named directly, or through a list variable of
  template paths in the role's vars/defaults, e.g. ``*_airflow_db_connection_templates``), or
* contain a key, or a name inside a Jinja expression, matching password|secret|fernet|jwt|token|connection.

Only names that can hold a secret value count: names ending in ``_length``, ``_name``, ``_names``,
``_enabled``... describe a secret without holding it (CONTRIBUTING: measure a secret in a no_log task,
then assert on its length). ``assert``/``fail`` tasks are judged by their messages only: ``that``
conditions are never printed with their values, and preflight messages must stay visible.
Such a task passes when it has ``no_log: true`` or ``no_log: "{{ <role>_no_log }}"``; an include of
another role may instead pass ``<included role>_no_log: "{{ <role>_no_log }}"``. The ``airflow_k8s.platform.kube_apply``
and ``airflow_k8s.platform.kube_read`` actions count as Kubernetes modules (a kube_read query of
``kind: Secret`` touches a secret).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from lib.specs import load_yaml

SECRET_WORD = re.compile(r"password|passwd|secret|fernet|jwt|token|connection", re.IGNORECASE)
# Names that describe a secret without holding its value.
DESCRIPTIVE_SUFFIX = re.compile(
    r"(_length|_len|_name|_names|_enabled|_create|_created|_exists|_present|_defined|_set|_mode|_annotations"
    r"|_labels|_path|_file|_mount|_keys|_ref|_secret_key|_no_log|_checksum|_hash)$",
    re.IGNORECASE,
)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
JINJA = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)
STRING_LITERAL = re.compile(r"'[^']*'|\"[^\"]*\"")

K8S_MODULES = frozenset(
    {"k8s", "k8s_info", "k8s_json_patch", "k8s_exec", "k8s_cp", "kube_apply", "kube_read", "kube_copy"}
)
MESSAGE_ONLY_MODULES = {"assert": ("msg", "fail_msg", "success_msg"), "fail": ("msg",)}
INCLUDE_ROLE_MODULES = frozenset({"include_role", "import_role"})
TASK_KEYWORDS = frozenset(
    """
    name when loop loop_control register tags vars no_log become become_user become_method become_flags
    become_exe delegate_to delegate_facts changed_when failed_when until retries delay notify listen
    ignore_errors ignore_unreachable check_mode diff environment args module_defaults any_errors_fatal
    run_once throttle timeout collections connection debugger async poll remote_user port
    block rescue always action local_action
    """.split()
)


@dataclass(frozen=True)
class TaskRef:
    file: Path
    name: str
    task: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.file}: {self.name!r}"


def short_module(task: dict[str, Any]) -> str | None:
    for key in task:
        if key not in TASK_KEYWORDS and not key.startswith("with_"):
            return key.rsplit(".", 1)[-1]
    return None


def module_args(task: dict[str, Any]) -> Any:
    for key in task:
        if key not in TASK_KEYWORDS and not key.startswith("with_"):
            args = task[key]
            extra = task.get("args")
            if isinstance(args, dict) and isinstance(extra, dict):
                return {**extra, **args}
            return args if args is not None else extra
    return None


def iter_tasks(tasks: Any) -> Iterator[dict[str, Any]]:
    """Every task of a task list, descending into block/rescue/always."""
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        if any(k in task for k in ("block", "rescue", "always")):
            for section in ("block", "rescue", "always"):
                yield from iter_tasks(task.get(section))
        else:
            yield task


def _jinja_names(text: str, literals: bool) -> set[str]:
    names: set[str] = set()
    for match in JINJA.finditer(text):
        expression = match.group(1) or match.group(2) or ""
        names.update(IDENTIFIER.findall(STRING_LITERAL.sub(" ", expression)))
        if literals:  # e.g. lookup('airflow_k8s.platform.random_secret', 'token') generates a secret
            for literal in STRING_LITERAL.findall(expression):
                names.update(IDENTIFIER.findall(literal))
    return names


def secret_names(value: Any, bare: bool = False, literals: bool = True) -> set[str]:
    """Names holding a secret, among the keys and Jinja names of a value.

    bare: strings are expressions without braces (debug var, with_*); literals: also look inside
    quoted strings in Jinja (off for messages, whose quoted text only names variables).
    """
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key, sub in node.items():
                found.add(str(key))
                visit(sub)
        elif isinstance(node, list):
            for sub in node:
                visit(sub)
        elif isinstance(node, str):
            found.update(_jinja_names(node, literals))
            if bare:
                found.update(IDENTIFIER.findall(STRING_LITERAL.sub(" ", node)))

    visit(value)
    return {n for n in found if SECRET_WORD.search(n) and not DESCRIPTIVE_SUFFIX.search(n)}


def mentions_secret_kind(value: Any) -> bool:
    if isinstance(value, dict):
        if str(value.get("kind", "")) == "Secret":
            return True
        return any(mentions_secret_kind(v) for v in value.values())
    if isinstance(value, list):
        return any(mentions_secret_kind(v) for v in value)
    return False


SECRET_KIND_LINE = re.compile(r"^\s*kind:\s*[\"']?Secret[\"']?\s*$", re.MULTILINE)


def _jinja_text(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(_jinja_text(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_jinja_text(v) for v in value)
    return value if isinstance(value, str) else ""


def secret_templates(value: Any, role: Path) -> list[str]:
    """Role templates a value renders (literal paths or list variables of paths) that define a Secret."""
    role_vars: dict[str, Any] = {}
    for folder in ("defaults", "vars"):
        path = role / folder / "main.yml"
        if path.is_file():
            role_vars.update(load_yaml(path) or {})
    text = _jinja_text(value)
    candidates: set[str] = set()
    for match in JINJA.finditer(text):
        expression = match.group(1) or match.group(2) or ""
        candidates.update(lit.strip("'\"") for lit in STRING_LITERAL.findall(expression))
        for ident in IDENTIFIER.findall(STRING_LITERAL.sub(" ", expression)):
            listed = role_vars.get(ident)
            if isinstance(listed, list):
                candidates.update(str(x) for x in listed if isinstance(x, str))
    found = []
    for candidate in sorted(c for c in candidates if c.endswith(".j2")):
        path = role / "templates" / candidate
        if path.is_file() and SECRET_KIND_LINE.search(path.read_text()):
            found.append(candidate)
    return found


def secret_reasons(task: dict[str, Any], role: Path | None = None) -> list[str]:
    """Why a task needs no_log ([] when it does not); ``role`` enables the template lookup."""
    module = short_module(task)
    args = module_args(task)
    reasons: list[str] = []
    if module in K8S_MODULES and mentions_secret_kind(args):
        reasons.append(f"{module} with kind: Secret")
    if role is not None and module not in MESSAGE_ONLY_MODULES:
        templates = secret_templates([args, task.get("vars")], role)
        if templates:
            reasons.append("renders Secret templates " + ", ".join(templates))
    if module in MESSAGE_ONLY_MODULES:
        inspected = {k: v for k, v in (args or {}).items() if k in MESSAGE_ONLY_MODULES[module]} if isinstance(args, dict) else {}
        names = secret_names(inspected, literals=False)
    elif module == "debug" and isinstance(args, dict) and "var" in args:
        names = secret_names(args) | secret_names(args["var"], bare=True)
    else:
        names = secret_names(args)
    names |= secret_names(task.get("vars"))
    for key in task:
        if key == "loop" or key.startswith("with_"):
            names |= secret_names(task[key], bare=key.startswith("with_"))
    if names:
        reasons.append("references " + ", ".join(sorted(names)))
    return reasons


def _bound_to(value: Any, variable: str) -> bool:
    return value is True or (isinstance(value, str) and re.fullmatch(r"\{\{\s*" + variable + r"\s*\}\}", value.strip()) is not None)


def hides_output(task: dict[str, Any], role: str) -> bool:
    """no_log true or bound to the role's <role>_no_log (or, for an include of another role, <that role>_no_log is)."""
    if _bound_to(task.get("no_log"), f"{role}_no_log"):
        return True
    if short_module(task) in INCLUDE_ROLE_MODULES:
        included = str((module_args(task) or {}).get("name", "")).rsplit(".", 1)[-1]
        return _bound_to((task.get("vars") or {}).get(f"{included}_no_log"), f"{role}_no_log")
    return False


def role_task_files(role: Path) -> list[Path]:
    folder = role / "tasks"
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml")) if folder.is_dir() else []


def load_tasks(path: Path) -> list[TaskRef]:
    return [TaskRef(path, str(t.get("name", "<unnamed>")), t) for t in iter_tasks(load_yaml(path))]
