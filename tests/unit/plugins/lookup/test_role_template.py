# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests of the airflow_k8s.platform.role_template lookup (plugins/lookup/role_template.py): the text of
ansible.builtin.template's lookup for the same template (template_vars, includes, a lookup inside the template,
template_path), without a copy of the task's variables, and nothing written to them."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[4]
_COLLECTIONS = _ROOT / ".collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

from ansible_collections.airflow_k8s.platform.plugins.lookup.role_template import SharedVariables  # noqa: E402

TEMPLATE = """{{ greeting }} {{ who }} [{% include 'inc.j2' %}] {{ lookup(plugin, 'inner.j2', template_vars={'who': 'inner'}) }}
{{ template_path | basename }} {% set _ = items.append(9) %}{{ items }} {{ config.nested.value }}
"""

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    greeting: hello
    items: [1]
    config: {nested: {value: "{{ greeting }} again"}}
  tasks:
    - ansible.builtin.set_fact:
        builtin: "{{ lookup('ansible.builtin.template', 't.j2', template_vars={'who': 'x', 'plugin': 'ansible.builtin.template'}) }}"
    - ansible.builtin.set_fact:
        ours: "{{ lookup('airflow_k8s.platform.role_template', 't.j2',
                         template_vars={'who': 'x', 'plugin': 'airflow_k8s.platform.role_template'}) }}"
        after: "{{ {'items': items, 'who': who | default(None), 'template_path': template_path | default(None)} }}"
    - ansible.builtin.copy:
        dest: "{{ playbook_dir }}/out.json"
        content: "{{ {'builtin': builtin, 'ours': ours, 'after': after} | to_json }}"
"""


def test_same_text_as_the_builtin_lookup_and_the_task_variables_untouched(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "t.j2").write_text(TEMPLATE)
    (tmp_path / "templates" / "inc.j2").write_text("inc {{ who }}")
    (tmp_path / "templates" / "inner.j2").write_text("inner {{ who }} {{ greeting }}")
    (tmp_path / "pb.yml").write_text(PLAYBOOK)
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}  # no ansible.cfg in tmp_path either
    env.update(ANSIBLE_COLLECTIONS_PATH=str(_COLLECTIONS), ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    playbook = Path(sys.executable).with_name("ansible-playbook")
    run = subprocess.run([str(playbook), str(tmp_path / "pb.yml")], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["ours"] == out["builtin"] == "hello x [inc x] inner inner hello\nt.j2 [1, 9] hello again\n"
    assert out["after"] == {"items": [1], "who": None, "template_path": None}


def test_the_copy_is_a_layer_over_the_same_values() -> None:
    nested = {"a": [1]}
    variables = {"x": nested}
    shared = SharedVariables(variables)
    copied = copy.deepcopy(shared)
    copied.update({"template_path": "t.j2", "x": "shadowed"})
    assert copied["template_path"] == "t.j2" and copied["x"] == "shadowed"
    assert variables == {"x": {"a": [1]}} and variables["x"] is nested
    assert copy.deepcopy(shared)["x"] is nested  # not copied
