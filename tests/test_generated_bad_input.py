"""Generated bad input: wrong values for every option of every entry point of every role's meta/argument_specs.yml.

tests/test_bad_input.py is a hand-written catalogue; this file walks the argument specs instead and generates, for each
option and suboption, values of the wrong type (the string "false" for a bool, "8080" for an int, a dict for a string,
a string for a list...), the wrong shape (unknown suboption keys, list elements that are not dictionaries), choices
violations, template strings inside data, and, for options whose name says what they hold (a namespace, a size, a path,
a timeout, a uid...), values of a bad format or out of range. Every generated value must be refused by
playbooks/render.yml before any file is written, without a Python traceback, by a message that names the option.

All cases go through the real code path in ONE ansible-playbook run of render.yml: each batch of cases is a host of a
generated inventory (group airflow, beside inventories/local whose group_vars give the base configuration), with the
bad values as host variables and a render folder of its own. A batch holds the cases of one role and one layer:
- spec: refused by Ansible's role argument validation (meta/argument_specs.yml), which lists every error at once;
- early: values the argument spec converts but the role would receive unconverted, and templates inside data, refused
  by check_input's `types` and `literal` (plugins/plugin_utils/input_rules.py), all listed at once;
- rules: formats and ranges, refused by the role's check_input rules (tasks/preflight.yml), all listed at once.
A second run of playbooks/preflight.yml checks that every base configuration passes without the bad values (control).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
import os
import re
import subprocess
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator


from lib.ansible_run import REPO, ansible_bin, ansible_env, manifest_files
from lib.specs import load_yaml, role_dirs

# The collection's own rules (plugins/plugin_utils/input_rules.py imports nothing of the collection)
_spec = importlib.util.spec_from_file_location("airflow_k8s_input_rules", REPO / "plugins" / "plugin_utils" / "input_rules.py")
input_rules = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(input_rules)

TEMPLATE = "{{ 7 * 6 }}"
BAD_NAME = "Bad_Name!"
CRASH_MARKERS = ("Traceback (most recent call last)", "has no attribute", "AnsibleUndefinedVariable", "unhandled exception")

NFS_STATIC = {"airflow_storage_backend": "nfs", "storage_nfs_mode": "static", "storage_nfs_server": "10.0.0.5",
              "storage_nfs_export_path": "/srv/nfs/airflow"}
# A storage role's claims replace airflow_core's (the local inventory creates them: pvc_create true)
CORE_CLAIMS_OFF = {"airflow_core_dags": {"mode": "pvc", "pvc_create": False}, "airflow_core_logs": {"mode": "pvc", "pvc_create": False}}
BASES: dict[str, dict[str, Any]] = {
    "local": {},
    "nfs-static": {**NFS_STATIC, **CORE_CLAIMS_OFF},
    "nfs-dynamic": {**NFS_STATIC, "storage_nfs_mode": "dynamic", "storage_nfs_storage_class_create": True, **CORE_CLAIMS_OFF},
    "portworx": {"airflow_storage_backend": "portworx", **CORE_CLAIMS_OFF},
    "external-db": {"airflow_db_mode": "external", "airflow_db_external_host": "db.example.com",
                    "airflow_db_external_password": "correct-horse-battery-staple", "airflow_db_sslmode": "require"},
}



def literal_variables() -> frozenset[str]:
    """The variables each role's preflight gives check_input as `literal` (a list, or a variable of vars/main.yml)."""
    found: set[str] = set()
    for role in role_dirs():
        variables = load_yaml(role / "vars" / "main.yml") or {} if (role / "vars" / "main.yml").is_file() else {}
        for task in load_yaml(role / "tasks" / "preflight.yml") or []:
            literal = (task.get("airflow_k8s.platform.check_input") or {}).get("literal", [])
            if isinstance(literal, str):
                literal = variables[literal.strip("{} ")]
            found.update(literal)
    return frozenset(found)


# Options whose values are data (check_input `literal`): a template in their strings must be refused
LITERAL_VARIABLES = literal_variables()
# Options without format rules in render.yml: free text, values any string is fine for, and the rotation's own
# settings (checked by the rotate entry point, playbooks/rotate.yml; tests/test_rotate.py)
FREE = re.compile(r"(description|purpose|reason_text|annotations|affinity|tolerations|node_selector|_egress_to|_ingress_from"
                  r"|local_path|local_dir|restore_dump|admin_password|_password$|ca_bundle|rotate_id|rotate_drain_timeout)")


@dataclass(frozen=True)
class Case:
    role: str
    top: str  # the top-level variable
    path: tuple[str, ...]  # suboption keys below it ("0" for a list element)
    kind: str  # the class of mistake
    layer: str  # spec | early | rules
    value: Any
    base: str = "local"

    @property
    def option(self) -> str:
        return ".".join((self.top, *self.path)).replace(".0", "[0]")

    @property
    def id(self) -> str:
        return f"{self.option}:{self.kind}"


# ------------------------------------------------------------------------------------------- generation


@functools.lru_cache(maxsize=1)
def entry_point_options() -> dict[str, dict[str, dict[str, Any]]]:
    """role -> option -> spec, over every entry point of meta/argument_specs.yml (main's spec first)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for role in role_dirs():
        specs = (load_yaml(role / "meta" / "argument_specs.yml") or {})["argument_specs"]
        options: dict[str, dict[str, Any]] = {}
        for entry in ["main", *sorted(set(specs) - {"main"})]:
            for name, spec in ((specs[entry] or {}).get("options") or {}).items():
                options.setdefault(name, spec or {})
        found[role.name] = options
    return found


def _walk(spec: dict[str, Any], path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    yield path, spec
    if spec.get("type", "str") == "dict":
        for key, sub in (spec.get("options") or {}).items():
            yield from _walk(sub or {}, (*path, key))
    elif spec.get("type") == "list" and spec.get("elements") == "dict" and spec.get("options"):
        for key, sub in spec["options"].items():
            yield from _walk(sub or {}, (*path, "0", key))


def _base_for(role: str, top: str) -> str:
    if role == "storage_nfs":
        return "nfs-dynamic" if "csi" in top or "storage_class" in top else "nfs-static"
    if role == "storage_portworx":
        return "portworx"
    if top.startswith("airflow_db_external_"):
        return "external-db"
    return "local"


def _type_cases(spec: dict[str, Any], nested: bool) -> Iterator[tuple[str, str, Any]]:
    """(kind, layer, value) of the wrong type, shape or choice for a spec."""
    kind = spec.get("type", "str")
    if spec.get("choices"):
        yield "choice-violation", "spec", "not-a-choice" if kind == "str" else 99
    if kind == "bool":
        yield "string-false-for-bool", "early", "false"
        yield "number-for-bool", "early", 1
        yield "word-for-bool", "spec", "maybe"
    elif kind == "int":
        yield "numeric-string-for-int", "early", "8080"
        yield "bool-for-int", "early", True
        yield "word-for-int", "spec", "eight"
        yield "fraction-for-int", "spec", 1.5
    elif kind == "str":
        yield "dict-for-str", "spec", {"a": 1}
        yield "list-for-str", "spec", ["a"]
    elif kind == "dict":
        yield "string-for-dict", "early", "a=b"
        yield "list-for-dict", "spec", [1]
        if spec.get("options"):
            yield "unknown-suboption", "spec", {"no_such_option": 1}
    elif kind == "list":
        yield "string-for-list", "early", "a,b"
        yield "dict-for-list", "spec", {"a": 1}
        elements = spec.get("elements")
        if elements == "dict":
            yield "element-not-a-dict", "spec", ["x"]
            if spec.get("options"):
                yield "unknown-element-key", "spec", [{"no_such_option": 1}]
        elif spec.get("choices"):
            pass  # the choice violation above is the element's
        elif elements == "str":
            yield "dict-element-for-str", "spec", [{"a": 1}]
    if kind == "str" and nested and not spec.get("choices"):
        yield "template-in-data", "early", TEMPLATE


# Formats and ranges, by what an option's name says it holds: (regex on the option path, kind, bad value)
FORMAT_RULES: list[tuple[str, str, Any]] = [
    (r"(^|[._])namespace$", "system-namespace", "kube-system"),
    (r"(^|[._])namespace$", "namespace-not-dns", "Airflow_Prod"),
    (r"(^|[._])instance$", "instance-not-dns", BAD_NAME),
    (r"(storage_class(_name)?|class_name|tls_secret|credentials_secret|secret_name)$", "object-name-not-dns", BAD_NAME),
    (r"(^|[._])(pvc_)?(storage_)?size$", "quantity-1GB", "1GB"),
    (r"(^|[._])(pvc_)?(storage_)?size$", "quantity-words", "250 millicores"),
    (r"(subpath|sub_path|sub_dir)$", "path-climbs-out", "../etc"),
    (r"(timeout|_keep|creation_batch_size|backoff_limit_never)$", "zero", 0),
    (r"(timeout|replicas|_keep|creation_batch_size|workers|grace_period_seconds)$", "negative", -1),
    (r"(^|[._])uid$", "uid-root", 0),
    (r"(^|[._])gid$", "gid-negative", -1),
    (r"(node_port|external_port)$", "port-out-of-range", 70000),
    (r"(^|[._])(image|postgres_image)$", "image-reference-malformed", "Bad Image:!"),
    (r"(image_repository)$", "image-repository-malformed", "Registry.Example.com/Apache/Airflow:latest"),
    (r"(image_tag)$", "image-tag-malformed", "final build 7"),
    (r"(^|[._])version$", "version-not-airflow-3", "2.10.5"),
    (r"(^|[._])host$", "host-with-port", "db.example.com:5432"),
    (r"(^|[._])server$", "server-with-port", "10.0.0.5:2049"),
    (r"export_path$", "path-relative", "srv/nfs"),
    (r"(^|[._])period$", "duration-words", "1 minute"),
    (r"(^|[._])ref$", "git-ref-with-space", "main branch"),
    (r"(^|[._])path$", "url-path-relative", "airflow"),
    (r"pvc_access_modes$", "access-mode-unknown", ["RWX"]),
    (r"pvc_access_modes$", "access-modes-empty", []),
    (r"admin_username$", "username-with-space", "a b"),
    (r"postgres_(user|database)$", "postgres-name-invalid", "1user"),
    (r"backup_reason$", "reason-not-a-slug", "before upgrade!"),
    (r"mount_permissions$", "mode-not-octal", "rwx"),
    (r"mount_options$", "mount-option-empty", [" "]),
]
# Values for the dictionaries whose keys are data (no suboptions in the spec)
SHAPED: dict[str, list[tuple[str, Any]]] = {
    "resources": [("quantity-words", {"requests": {"cpu": "250 millicores"}}),
                  ("limit-below-request", {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}),
                  ("resources-unknown-key", {"request": {"cpu": "1"}})],
    "airflow_core_config": [("config-mixed-case-key", {"core": {"Executor": "CeleryExecutor"}}),
                            ("config-newline-injects-key", {"core": {"dags_are_paused_at_creation": "True\nfernet_key = x"}}),
                            ("config-executor", {"core": {"executor": "CeleryExecutor"}}),
                            ("config-secret", {"database": {"sql_alchemy_conn": "postgresql://u:p@h/d"}}),
                            ("config-section-not-a-dict", {"core": "x"})],
    "airflow_core_env": [("env-sets-executor", [{"name": "AIRFLOW__CORE__EXECUTOR", "value": "CeleryExecutor"}]),
                         ("env-plain-fernet-key", [{"name": "AIRFLOW__CORE__FERNET_KEY", "value": "x" * 44}]),
                         ("env-name-twice", [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]),
                         ("env-name-invalid", [{"name": "A B", "value": "1"}]),
                         ("env-value-not-string", [{"name": "A", "value": 1}])],
    "airflow_db_postgres_parameters": [("parameter-newline", {"max_connections": "100\nssl = off"}),
                                       ("parameter-name-invalid", {"Max Connections": "100"})],
    "volumes": [("volume-size-1GB", {"dags": {"size": "1GB"}}), ("volume-key-not-dns", {"Dags_Volume": {"size": "1Gi"}})],
}


def _shaped_cases(top: str, path: tuple[str, ...]) -> list[tuple[str, Any]]:
    last = (path or (top,))[-1]
    if top in SHAPED and not path:
        return SHAPED[top]
    if last.endswith(("_egress_to", "_ingress_from")):
        return [("cidr-invalid", [{"ipBlock": {"cidr": "10.0.0.300/8"}}]), ("cidr-without-prefix", [{"ipBlock": {"cidr": "10.0.0.1"}}]),
                ("peer-unknown-key", [{"ipblock": {"cidr": "10.0.0.0/8"}}])]
    if last.endswith("resources") and not (top == "airflow_core_migration" and not path):
        return SHAPED["resources"]
    if last.endswith("_volumes") and not path:
        key = "sub_path" if top.startswith("storage_nfs") else None
        return [(kind, {k: ({**v, "sub_path": k} if key else v) for k, v in value.items()}) for kind, value in SHAPED["volumes"]]
    return []


def generate() -> list[Case]:
    cases: list[Case] = []
    for role, options in entry_point_options().items():
        for top, spec in options.items():
            base = _base_for(role, top)
            for path, sub in _walk(spec, ()):
                nested = bool(path) and top in LITERAL_VARIABLES
                if not (nested or not path) and top not in LITERAL_VARIABLES:
                    pass
                for kind, layer, value in _type_cases(sub, nested):
                    if kind == "template-in-data" and not nested:
                        continue
                    cases.append(Case(role, top, path, kind, layer, value, base))
                option = ".".join((top, *path))
                if sub.get("type", "str") in ("str", "int", "list") and not FREE.search(option):
                    for regex, kind, value in FORMAT_RULES:
                        if re.search(regex, option) and not (sub.get("choices") and kind != "choice-violation"):
                            cases.append(Case(role, top, path, kind, "rules", value, base))
                for kind, value in _shaped_cases(top, path):
                    cases.append(Case(role, top, path, kind, "rules", value, base))
    unique: dict[str, Case] = {}
    for case in cases:
        unique.setdefault(case.id, case)
    return [_classified(case) for case in unique.values()]


def _classified(case: Case) -> Case:
    """The case with the layer that refuses it first, found with the same code the run uses: check_input's type rules
    (playbooks/preflight.yml's first task), Ansible's ArgumentSpecValidator (the role's argument validation), then
    check_input's literal rule (the role's preflight); what none of these refuses is for the role's rules."""
    options = entry_point_options()[case.role]
    values: dict[str, Any] = {}
    _put(values, case)
    if input_rules.type_problems({case.top: options[case.top]}, values):
        layer = "types"
    elif ArgumentSpecValidator({case.top: options[case.top]}).validate(values).error_messages:
        layer = "spec"
    elif case.top in LITERAL_VARIABLES and input_rules.template_problems(case.top, values[case.top], lambda _: True):
        layer = "literal"
    else:
        layer = "rules"
    return dataclasses.replace(case, layer=layer)


# ------------------------------------------------------------------------------------------- batches


def _put(target: dict[str, Any], case: Case) -> bool:
    """Set the case's value into target (host variables); False when that leaf is already taken."""
    if not case.path:
        if case.top in target:
            return False
        target[case.top] = case.value
        return True
    node = target.setdefault(case.top, {} if case.path[0] != "0" else [{}])
    if not isinstance(node, (dict, list)):
        return False
    keys = list(case.path)
    while len(keys) > 1:
        key = keys.pop(0)
        if key == "0":
            if not isinstance(node, list):
                return False
            node = node[0]
        else:
            if not isinstance(node, dict):
                return False
            nxt = node.setdefault(key, [{}] if keys[0] == "0" else {})
            node = nxt
    if not isinstance(node, dict) or keys[0] in node:
        return False
    node[keys[0]] = case.value
    return True


def batches(cases: list[Case]) -> dict[str, tuple[str, list[Case], dict[str, Any]]]:
    """host name -> (base, cases, host variables): per role, base and layer, one value per leaf and host."""
    groups: dict[tuple[str, str, str], list[Case]] = defaultdict(list)
    for case in cases:
        # the type rules of every role run in playbooks/preflight.yml's first task, whatever the storage backend
        # the backup and restore rules are a check_input task of their own, after the database's other rules
        layer = "backup" if case.layer == "rules" and re.match(r"airflow_db_(backup|restore)_", case.top) else case.layer
        groups[("all", "local", "types") if layer == "types" else (case.role, case.base, layer)].append(case)
    hosts: dict[str, tuple[str, list[Case], dict[str, Any]]] = {}
    for (role, base, layer), members in sorted(groups.items()):
        filled: list[tuple[list[Case], dict[str, Any]]] = []
        for case in members:
            for taken, values in filled:
                trial = json.loads(json.dumps(values))
                if _put(trial, case):
                    values.clear()
                    values.update(trial)
                    taken.append(case)
                    break
            else:
                values = {}
                assert _put(values, case)
                filled.append(([case], values))
        for n, (taken, values) in enumerate(filled):
            hosts[f"{role.replace('_', '-')}-{base}-{layer}-{n}"] = (base, taken, values)
    return hosts


CASES = generate()


# ------------------------------------------------------------------------------------------- the run


@dataclass
class HostOutcome:
    failed: bool
    message: str
    files: list[Path]


@dataclass
class GeneratedRun:
    hosts: dict[str, tuple[str, list[Case], dict[str, Any]]]
    outcomes: dict[str, HostOutcome]
    output: str
    returncode: int
    seconds: float
    control_returncode: int
    control_output: str


_FATAL = re.compile(r"^fatal: \[(?P<host>[^\]]+)\]: FAILED! => (?P<json>\{.*\})\s*$", re.MULTILINE)
_RECAP = re.compile(r"^(?P<host>\S+)\s+: ok=\d+\s+changed=\d+\s+unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)",
                    re.MULTILINE)


def _inventory(path: Path, hosts: dict[str, dict[str, Any]]) -> None:
    # JSON is YAML: the values keep their types ("false" stays a string, false a boolean)
    path.write_text(json.dumps({"airflow": {"hosts": hosts}}, indent=1))


def _run(playbook: str, inventory: Path, forks: int) -> subprocess.CompletedProcess[str]:
    env = ansible_env()
    # The local inventory finds its DAG folder from inventory_dir, which is the generated inventory's folder here
    env.update(ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_FORKS=str(forks),
               AIRFLOW_K8S_DAGS_DIR=str(REPO / "playbooks" / "files" / "dags"))
    args = [ansible_bin("ansible-playbook"), "-i", "inventories/local", "-i", str(inventory), playbook,
            "--limit", ",".join(json.loads(inventory.read_text())["airflow"]["hosts"])]
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800, check=False)


@pytest.fixture(scope="module")
def generated_run(tmp_path_factory: pytest.TempPathFactory) -> GeneratedRun:
    work = tmp_path_factory.mktemp("generated-bad-input")
    hosts = batches(CASES)
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    inventory = {name: {**local, **BASES[base], **values, "airflow_render_dir": str(work / name)}
                 for name, (base, _, values) in hosts.items()}
    _inventory(work / "bad.json", inventory)
    forks = int(os.environ.get("AIRFLOW_K8S_TEST_JOBS", "4"))
    started = time.monotonic()
    proc = _run("playbooks/render.yml", work / "bad.json", forks)
    seconds = time.monotonic() - started
    output = proc.stdout + "\n" + proc.stderr
    messages: dict[str, str] = defaultdict(str)
    for m in _FATAL.finditer(output):
        try:
            result = json.loads(m["json"])
        except json.JSONDecodeError:
            messages[m["host"]] += m["json"]
            continue
        messages[m["host"]] += json.dumps(result.get("msg", "")) + "\n" + "\n".join(
            [str(e) for e in result.get("argument_errors", [])] + [str(f) for f in result.get("failures", [])])
    failed = {m["host"]: int(m["failed"]) + int(m["unreachable"]) > 0 for m in _RECAP.finditer(output)}
    outcomes = {name: HostOutcome(failed.get(name, False), messages.get(name, ""), manifest_files(work / name))
                for name in hosts}
    (work / "outcomes.json").write_text(json.dumps({n: {"failed": o.failed, "message": o.message, "files": [str(f) for f in o.files]}
                                                    for n, o in outcomes.items()}, indent=1))
    (work / "output.txt").write_text(output)
    # Control: every base used passes the checks without the bad values
    controls = {f"control-{base}": {**local, **BASES[base], "airflow_render_dir": str(work / f"control-{base}")}
                for base in sorted({b for b, _, _ in hosts.values()})}
    _inventory(work / "control.json", controls)
    control = _run("playbooks/preflight.yml", work / "control.json", forks)
    return GeneratedRun(hosts, outcomes, output, proc.returncode, seconds, control.returncode,
                        control.stdout + "\n" + control.stderr)


def test_generation_covers_every_option() -> None:
    """Every option and suboption of every entry point gets at least one generated wrong value."""
    covered = {(c.top, c.path) for c in CASES}
    missing = []
    for role, options in entry_point_options().items():
        for top, spec in options.items():
            for path, sub in _walk(spec, ()):
                if sub.get("type", "str") != "raw" and (top, path) not in covered:
                    missing.append(".".join((top, *path)))
    assert not missing, f"options without a generated wrong value: {missing}"
    assert len(CASES) >= 300, len(CASES)


def test_bases_pass_the_checks(generated_run: GeneratedRun) -> None:
    assert generated_run.control_returncode == 0, generated_run.control_output[-4000:]


def test_no_traceback(generated_run: GeneratedRun) -> None:
    crash = [m for m in CRASH_MARKERS if m in generated_run.output]
    assert not crash, f"the run crashed ({crash}):\n{generated_run.output[-4000:]}"


def test_report(generated_run: GeneratedRun, capsys: pytest.CaptureFixture[str]) -> None:
    """Prints the numbers (pytest -s shows them): values tried, refused, hosts, by class and layer."""
    refused = [c for name, (_, cases, _) in generated_run.hosts.items() for c in cases if _refused(generated_run, name, c)]
    with capsys.disabled():
        print(f"\ngenerated bad input: {len(CASES)} values tried, {len(refused)} refused, in {len(generated_run.hosts)} "
              f"batches (hosts) of one render.yml run ({generated_run.seconds:.0f} s)")
        print("  by layer: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(c.layer for c in CASES).items())))
        print("  by class: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(c.kind for c in CASES).items())))
    assert generated_run.returncode != 0


def _named(message: str, case: Case) -> bool:
    leaf = [p for p in case.path if p != "0"]
    return case.top in message and (not leaf or leaf[-1] in message)


def _refused(run: GeneratedRun, host: str, case: Case) -> bool:
    outcome = run.outcomes[host]
    return outcome.failed and not outcome.files and _named(outcome.message, case)


def _host_of(case: Case, hosts: dict[str, tuple[str, list[Case], dict[str, Any]]]) -> str:
    return next(name for name, (_, cases, _) in hosts.items() if any(c.id == case.id for c in cases))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_generated_value_is_refused(generated_run: GeneratedRun, case: Case) -> None:
    host = _host_of(case, generated_run.hosts)
    outcome = generated_run.outcomes[host]
    shown = yaml.safe_dump({case.option: case.value}, default_flow_style=True).strip()
    assert outcome.failed, f"{shown} ({case.kind}) was accepted (host {host})"
    written = [str(p) for p in outcome.files]
    assert not written, f"{shown}: files were written before the refusal: {written}"
    assert _named(outcome.message, case), f"{shown} ({case.kind}): the refusal does not name {case.option}:\n{outcome.message}"
