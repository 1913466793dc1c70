#!/usr/bin/python
# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Documentation of the check_input action plugin; the work is done on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
module: check_input
short_description: Check a role's input with many rules in one task and report every failing rule
version_added: 1.0.0
author: airflow_k8s maintainers (@airflow-k8s)
description:
  - Evaluates each check's conditions (like M(ansible.builtin.assert)'s O(ansible.builtin.assert#module:that)) and
    fails with the message of every check that does not hold, not only the first.
  - One task instead of one M(ansible.builtin.assert) per rule, so a role's preflight costs one task's overhead.
  - Conditions and messages are evaluated by the action, not before it; a message is rendered only when its check
    fails, so it may use values that exist only then.
  - Runs in the controller process (an action plugin); never changes anything.
options:
  checks:
    description: The rules, evaluated in order.
    type: list
    elements: dict
    required: true
    suboptions:
      that:
        description: A conditional expression (no braces) or a list of them; the check holds when all are true.
        type: raw
        required: true
      msg:
        description: The error when the check does not hold; name the variable, its value and the fix.
        type: str
        required: true
      when:
        description: A conditional or a list of them; the check is skipped unless all are true.
        type: raw
  types:
    description:
      - Refuse a value whose type is not the one meta/argument_specs.yml declares although the argument validation
        converts it (the string C("false") for a bool, C("8080") for an int, C("a,b") for a list, C("k=v") for a dict),
        since the role would get the string.
      - An entry point of the task's role (C(main)), or a list of C(<role>:<entry point>) of this collection's roles.
      - Checked before the checks. When a value is refused, the checks are not evaluated.
    type: raw
    version_added: 1.1.0
  literal:
    description:
      - Variables whose values are data. A string inside them (in a dict or a list) with template syntax that Ansible
        would evaluate is refused, naming its path. A string marked C(!unsafe) stays literal and passes.
      - Checked before the checks. When a value is refused, the checks are not evaluated.
    type: list
    elements: str
    version_added: 1.1.0
notes:
  - A check whose conditions cannot be evaluated (for example a value of the wrong type) fails with its message
    and the reason.
"""

EXAMPLES = r"""
- name: Check the input
  airflow_k8s.platform.check_input:
    checks:
      - that: my_namespace is match('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$')
        msg: my_namespace={{ my_namespace | to_json }} is not a valid namespace name.
      - that: my_host | length > 0
        when: my_mode == 'external'
        msg: my_host is empty but my_mode is external; set my_host.
"""

RETURN = r"""
checked:
  description: Number of checks evaluated (those whose C(when) held).
  returned: always
  type: int
failures:
  description: The message of each failing check.
  returned: failed
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec={"checks": {"type": "list", "elements": "dict", "required": True}, "types": {"type": "raw"},
                       "literal": {"type": "list", "elements": "str"}},
        supports_check_mode=True,
    )
    module.fail_json(msg="check_input runs on the controller through its action plugin; it cannot run on a managed host")


if __name__ == "__main__":
    main()
