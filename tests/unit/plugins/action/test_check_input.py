# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Tests of the check_input action (plugins/action/check_input.py): the shape check of its argument, and the
action run by ansible-playbook on this machine (no cluster is involved: the action only evaluates expressions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[4]
_COLLECTIONS = _ROOT / ".collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

from ansible_collections.airflow_k8s.platform.plugins.action.check_input import check_spec  # noqa: E402


def test_well_formed_checks_have_no_problems():
    assert check_spec([{"that": "a > 1", "msg": "m"}, {"that": ["a", "b"], "msg": "m", "when": "c"}]) == []


@pytest.mark.parametrize("checks, problem", [
    ([], "non-empty list"),
    ("a > 1", "non-empty list"),
    (["a > 1"], "checks[0] must be a dictionary"),
    ([{"that": "a"}], "checks[0] has no msg"),
    ([{"msg": "m"}], "checks[0] has no that"),
    ([{"that": "a", "msg": "m", "fail_msg": "x"}], "unknown keys ['fail_msg']"),
    ([{"that": [], "msg": "m"}], "checks[0].that must be a condition"),
    ([{"that": "a", "msg": "m", "when": {"x": 1}}], "checks[0].when must be a condition"),
    ([{"that": "a", "msg": ["m"]}], "checks[0].msg must be a string"),
])
def test_malformed_checks_are_named(checks, problem):
    assert any(problem in p for p in check_spec(checks)), check_spec(checks)


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    count: 5
    name: Bad_Name
  tasks:
    - name: Checks
      airflow_k8s.platform.check_input:
        checks:
          - that: count > 3
            msg: "passing check, its message is never rendered: {{ not_defined_anywhere.x }}"
          - that: [count > 10, name | length > 0]
            msg: "count={{ count }} must be more than 10"
          - that: name is match('^[a-z]+$')
            msg: "name={{ name | to_json }} must be lowercase letters"
          - that: name is match('^x')
            when: count == 6
            msg: "skipped because of when"
          - that: not_defined_anywhere.x > 0
            msg: "cannot be evaluated"
"""


def _run(tmp_path: Path, playbook: str) -> tuple[int, dict]:
    (tmp_path / "play.yml").write_text(playbook)
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CALLBACKS_ENABLED"}
    env.update(ANSIBLE_CONFIG=str(_ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           str(tmp_path / "play.yml")], capture_output=True, text=True, env=env, cwd=_ROOT, timeout=120)
    out = json.loads(proc.stdout[proc.stdout.index("{"):])
    return proc.returncode, out["plays"][0]["tasks"][0]["hosts"]["localhost"]


def test_every_failing_check_is_reported_once(tmp_path):
    rc, result = _run(tmp_path, PLAYBOOK)
    assert rc != 0 and result["failed"]
    assert result["checked"] == 4  # the check whose when is false is skipped
    failures = result["failures"]
    assert failures[0] == "count=5 must be more than 10"
    assert failures[1] == 'name="Bad_Name" must be lowercase letters'
    assert failures[2].startswith("cannot be evaluated (checks[4] could not be evaluated")
    assert len(failures) == 3
    assert result["msg"].startswith("3 input errors:\n- count=5 must be more than 10\n")


def test_passing_checks_report_no_change(tmp_path):
    rc, result = _run(tmp_path, PLAYBOOK.replace("count: 5", "count: 11").replace("Bad_Name", "good")
                      .replace("not_defined_anywhere.x > 0", "true"))
    assert rc == 0, result
    assert result["changed"] is False and result["checked"] == 4 and result["msg"] == "4 checks passed"


def test_valid_input_passes_as_one_expression_and_as_the_checks_one_by_one(tmp_path):
    # Valid input goes through one expression: a `that` whose `when` is false is not evaluated there either, and a
    # condition that only the one before it makes valid sends the checks down the one-by-one way, same verdict.
    guarded = PLAYBOOK.replace("count: 5", "count: 11").replace("Bad_Name", "good").replace(
        "not_defined_anywhere.x > 0", "true") + """          - that: not_defined_anywhere.x > 0
            when: count == 6
            msg: "its when is false: never evaluated"
          - that: [not_defined_anywhere is not defined or not_defined_anywhere.x > 0, count > 10]
            msg: "holds"
"""
    rc, result = _run(tmp_path, guarded)
    assert rc == 0, result
    assert result["checked"] == 5 and result["msg"] == "5 checks passed"
    # One by one, a `when` stops at its first false condition; as one expression every condition of it is
    # evaluated, and the undefined one errs: the action then takes the one-by-one way, which skips the check.
    fallback = guarded + """          - that: false
            when: [false, not_defined_anywhere.x > 0]
            msg: "skipped one by one"
"""
    rc, result = _run(tmp_path, fallback)
    assert rc == 0, result
    assert result["checked"] == 5 and result["msg"] == "5 checks passed"


TYPES_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    airflow_db_no_log: "false"
    airflow_db_postgres_wait_timeout: "{{ 60 * 5 }}"
    airflow_db_external_port: 5432
  tasks:
    - name: Types
      airflow_k8s.platform.check_input:
        types: ['airflow_db:main']
        checks:
          - that: true
            msg: "holds"
"""


def test_types_are_checked_on_the_resolved_values(tmp_path):
    # Every variable of the spec is resolved in one expression: a template resolves to its value (an int here),
    # and a string where the spec says bool is named.
    rc, result = _run(tmp_path, TYPES_PLAYBOOK)
    assert rc != 0 and result["failed"], result
    assert len(result["failures"]) == 1, result["failures"]
    assert result["failures"][0].startswith('airflow_db_no_log="false" is a string'), result["failures"]


def test_a_variable_that_cannot_be_resolved_fails_the_task_naming_it(tmp_path):
    # The one expression errs; resolved one by one, the variable whose template cannot be resolved fails the task
    # as it did before the expression, with Ansible's message naming what is undefined.
    rc, result = _run(tmp_path, TYPES_PLAYBOOK.replace('"false"', "false").replace("60 * 5", "not_defined_anywhere.x"))
    assert rc != 0 and result["failed"], result
    assert "not_defined_anywhere" in result["msg"], result
