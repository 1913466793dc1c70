#!/usr/bin/python
# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Documentation of the kube_apply action plugin; the work is done on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kube_apply
short_description: Apply one or several phases of Kubernetes objects in one task, or write them to a render folder
version_added: 1.0.0
author: airflow_k8s maintainers (@airflow-k8s)
description:
  - Applies I(objects) with one C(kubernetes.core.k8s) call (server-side apply, field manager I(field_manager),
    conflicts forced), deletes I(absent) with one more call, then, with I(wait), waits for the phase's
    Deployments, StatefulSets and DaemonSets with one C(kubernetes.core.k8s_info) call per kind.
  - The kubernetes.core modules run with the task's C(module_defaults) for the C(group/kubernetes.core.k8s)
    group, so C(kubeconfig) and C(context) set there reach them.
  - Check mode is a server-side dry run and skips the wait; C(--diff) shows one diff per changed object.
  - With I(render_dir) set, nothing touches a cluster; the objects are written to C(<render_dir>/<phase>.yaml)
    with every Secret value blanked.
  - With I(phases), several phases are applied as one, in the order given (one apply call, one deletion call,
    one wait per kind), and each is still written to its own file in render mode. A role collects the phases
    its run selects (tags) and applies them with one task.
  - Set C(no_log) on the task whenever a phase contains a Secret; that also hides the diff.
options:
  phase:
    description:
      - Name of the phase; the file name (without .yaml) in render mode.
      - One of I(phase) and I(phases) is required.
    type: str
  objects:
    description: Kubernetes objects to apply, in order; empty entries are skipped.
    type: list
    elements: raw
    default: []
  absent:
    description: Objects (apiVersion, kind, metadata.name, metadata.namespace) to delete, e.g. a component switched off.
    type: list
    elements: dict
    default: []
  phases:
    description:
      - Several phases to apply together, instead of I(phase), I(objects) and I(absent).
      - An empty list applies nothing.
    type: list
    elements: dict
    suboptions:
      phase:
        description: Name of the phase; the file name (without .yaml) in render mode.
        type: str
        required: true
      objects:
        description: Kubernetes objects of the phase, in order.
        type: list
        elements: raw
        default: []
      absent:
        description: Objects of the phase to delete.
        type: list
        elements: dict
        default: []
  render_dir:
    description: When not empty, write the manifests into this folder instead of applying them.
    type: str
    default: ""
  field_manager:
    description: Server-side apply field manager.
    type: str
    default: airflow-k8s
  wait:
    description:
      - Wait until the phase's workloads are ready (not in check mode). A workload the apply left unchanged and
        whose returned status is ready is not waited for.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for each workload (kubernetes.core.k8s_info waits for them one after another).
    type: int
    default: 600
  apply:
    description:
      - With C(false), neither apply nor delete anything; only wait (with I(wait)) for the workloads of I(objects),
        e.g. for a phase an earlier task applied without waiting.
    type: bool
    default: true
  create_only:
    description:
      - With C(true), create each object only when it does not exist, and never change an existing one. One
        create call per object, which the API server refuses for a name that exists, so of several runs racing to
        create the same object exactly one wins (first-install Secrets). The result's C(existed) lists the objects
        that were already there; the caller reads them and uses their values. The create's own field ownership
        becomes an apply of I(field_manager), so a later server-side apply of the object owns its fields alone.
      - In process it is a create call (POST). Through the kubernetes.core modules (a task with become or
        environment, or AIRFLOW_K8S_KUBE_MODULES=1) it is a server-side apply under a field manager of that call
        alone without forcing conflicts, which the server refuses (409) when the object holds other values, so
        an existing object is never changed either.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Apply the components and wait until every one is ready
  airflow_k8s.platform.kube_apply:
    phase: 31-core-workloads
    objects: "{{ query('ansible.builtin.template', 'a.yaml.j2', 'b.yaml.j2') | map('from_yaml') }}"
    wait: true

- name: Apply the phases a role collected, in one call
  airflow_k8s.platform.kube_apply:
    phases:
      - phase: 30-core-rbac
        objects: "{{ query('ansible.builtin.template', 'sa.yaml.j2') | map('from_yaml') }}"
      - phase: 32-core-network
        objects: "{{ query('ansible.builtin.template', 'netpol.yaml.j2') | map('from_yaml') }}"
        absent: []
"""

RETURN = r"""
phase:
  description: The phase, or the phases joined with C(+).
  returned: always
  type: str
objects:
  description: Number of objects in the phase.
  returned: always
  type: int
applied:
  description: Each object and whether the apply changed it.
  returned: when applied to a cluster
  type: list
  elements: dict
workloads:
  description:
    - Each Deployment, StatefulSet and DaemonSet applied, and whether it is ready by the status the API server
      returned with the apply (kubernetes.core's wait conditions) and the apply did not change it.
    - I(wait) skips those; a later wait-only task can skip the whole wait when every one is ready.
  returned: when applied to a cluster
  type: list
  elements: dict
existed:
  description: With I(create_only), the objects that existed already and were left as they are.
  returned: with I(create_only), when applied to a cluster
  type: list
  elements: str
removed:
  description: Objects deleted because they are switched off.
  returned: when I(absent) is not empty
  type: list
  elements: str
dest:
  description: File written in render mode (a list when several phases were written).
  returned: in render mode
  type: raw
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.airflow_k8s.platform.plugins.module_utils.kube_apply_spec import (
    ARGUMENT_SPEC, MUTUALLY_EXCLUSIVE, REQUIRED_ONE_OF)


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
        required_one_of=REQUIRED_ONE_OF,
        supports_check_mode=True,
    )
    module.fail_json(msg="kube_apply runs on the controller through its action plugin; it cannot run on a managed host")


if __name__ == "__main__":
    main()
