#!/usr/bin/python
# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Documentation of the rerun_state action (it runs on the controller only)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: rerun_state
short_description: Decide in one read that a re-run has nothing to change, and record a full run
version_added: 1.1.0
author: airflow_k8s maintainers (@airflow-k8s)
description:
  - C(state=check) computes the fingerprint of the run's inputs (the collection's files, every C(airflow_*) and
    C(storage_*) variable as templated for the host, the content of the local files and folders they name, except
    kubeconfigs) and compares it with the one the last full run recorded in a Secret. When they are equal it lists
    the objects that run applied (one call per kind and namespace) and compares each with the record (the fields the
    collection's field manager owns by server-side apply, their values, and that the object exists). Secrets of the
    namespace the collection does not own (the user's own values) are compared whole, and every Deployment and
    StatefulSet must be ready. I(unchanged) is true only when all of that holds; I(msg) says why a run is a full one.
  - It answers I(unchanged=false) with C(--tags) or C(--skip-tags), when I(enabled) is false, when the cluster is
    read through modules on another host, and on any read error (a full run then decides).
  - C(state=record) writes that record after a full run (the fingerprint, one SHA-256 digest per object of
    I(objects), one per other Secret, and the run's closing summary). It removes the record when an applied object is
    already gone. Nothing in the record is a value, only digests, kept in a Secret (digests of secret values stay under the RBAC of Secrets).
  - It reads with the task's C(module_defaults) for C(group/kubernetes.core.k8s), in the controller's process.
options:
  state:
    description: C(check) at the start of a run, C(record) at the end of a full one.
    type: str
    choices: [check, record]
    required: true
  namespace:
    description:
      - Namespace of the record Secret (the instance's namespace).
      - C(check) without it takes C(airflow_core_namespace), from the inventory or airflow_core's defaults.
    type: str
    default: ''
  name:
    description:
      - Name of the record Secret.
      - C(check) without it takes C(<airflow_core_instance>-applied); C(check) answers a full run in render mode
        (C(airflow_core_render_dir) set).
    type: str
    default: ''
  enabled:
    description: With C(false), the check computes the fingerprint but always answers I(unchanged=false).
    type: raw
    default: true
  fingerprint:
    description: The fingerprint to record (the check's answer at the start of the same run).
    type: str
    default: ''
  objects:
    description: The objects the run applied, as C(<apiVersion> <kind> <namespace> <name>) (Jobs and Pods are left out).
    type: list
    elements: str
    default: []
  labels:
    description: Labels of the record Secret.
    type: dict
    default: {}
  summary:
    description: Lines the check shows when nothing changed (where Airflow answers, how to sign in).
    type: list
    elements: str
    default: []
notes:
  - Runs on the controller through its action plugin.
"""

EXAMPLES = r"""
- name: Decide whether anything changed since the last full run
  airflow_k8s.platform.rerun_state:
    state: check
    namespace: airflow
    name: airflow-applied
  register: rerun
"""

RETURN = r"""
unchanged:
  description: Whether the run has nothing to change (check).
  returned: always
  type: bool
fingerprint:
  description: The fingerprint of the run's inputs (check).
  returned: state=check
  type: str
summary:
  description: The summary the last full run recorded (check).
  returned: when a record exists
  type: list
  elements: str
msg:
  description: Why the run is a full one, or what was recorded.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.airflow_k8s.platform.plugins.module_utils.rerun_state_spec import ARGUMENT_SPEC


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="rerun_state runs on the controller through its action plugin; it cannot run on a managed host")


if __name__ == "__main__":
    main()
