#!/usr/bin/python
# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Documentation of the write_manifests action plugin; the work is done on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
module: write_manifests
short_description: Write Kubernetes objects to a YAML file, Secret values blanked
version_added: 1.0.0
author: airflow_k8s maintainers (@airflow-k8s)
description:
  - Writes I(objects) as one multi-document YAML file at I(dest) on the controller, with every Secret's values
    emptied (keys kept, annotation C(airflow-k8s.io/redacted=true)).
  - Runs in the controller process (an action plugin), so rendering a phase costs no module start-up.
  - Reports a change only when the file content changes.
options:
  objects:
    description: Kubernetes objects to write; empty entries are skipped.
    type: list
    elements: dict
    required: true
  dest:
    description: File to write; its folder must exist.
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Write the core workloads for review
  airflow_k8s.platform.write_manifests:
    objects: "{{ objects }}"
    dest: /tmp/render/31-core-workloads.yaml
"""

RETURN = r"""
dest:
  description: Absolute path written.
  returned: always
  type: str
objects:
  description: Number of objects written.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec={"objects": {"type": "list", "elements": "dict", "required": True},
                       "dest": {"type": "path", "required": True}},
        supports_check_mode=True,
    )
    module.fail_json(msg="write_manifests runs on the controller through its action plugin; it cannot run on a managed host")


if __name__ == "__main__":
    main()
