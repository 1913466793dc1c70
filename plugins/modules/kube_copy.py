#!/usr/bin/python
# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Documentation of the kube_copy action plugin; the work is done on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kube_copy
short_description: Copy the content of a local folder into a running pod, in one task
version_added: 1.1.0
author: airflow_k8s maintainers (@airflow-k8s)
description:
  - Finds the pod (I(pod), or the first Running pod, not being deleted, that I(label_selectors) select, one whose
    I(container) is ready first) and copies the content of the controller's folder I(local_path) to I(remote_path)
    in I(container), as C(kubernetes.core.k8s_cp) with C(state=to_pod) does for a folder given with a trailing
    slash, as a tar archive of the folder's entries extracted with C(tar -xmf -). Files already there and not in
    the folder stay; the mode of an existing I(remote_path) is left alone (a volume's mount point).
  - When the task runs on the controller (local connection, no C(become), no task C(environment)), the copy is
    made in ansible-playbook's own process over the pod's exec stream, without a module run, and the task waits
    until C(tar) has exited and checks its exit code. Otherwise it runs C(kubernetes.core.k8s_info) and
    C(kubernetes.core.k8s_cp). C(AIRFLOW_K8S_KUBE_MODULES=1) in the environment forces the modules.
  - The cluster connection comes from the task's C(module_defaults) for C(group/kubernetes.core.k8s)
    (C(kubeconfig), C(context)), as for C(kube_apply). The account needs C(get)/C(list) on pods and C(create) on
    C(pods/exec).
  - Always reports a change (the copy is not compared with what the pod has); in check mode nothing is copied.
options:
  namespace:
    description: Namespace of the pod.
    type: str
    required: true
  pod:
    description: Name of the pod. One of I(pod) and I(label_selectors) is required.
    type: str
  label_selectors:
    description: Labels (C(key=value)) that select the pod; the first Running one is used.
    type: list
    elements: str
  container:
    description: Container to copy through; needed when the pod has several.
    type: str
  local_path:
    description: Folder on the controller whose content is copied.
    type: path
    required: true
  remote_path:
    description: Absolute folder in the container the content is copied to (created when absent).
    type: str
    required: true
  timeout:
    description: Seconds to wait for C(tar) in the pod to finish the copy made in-process.
    type: int
    default: 300
requirements:
  - kubernetes.core (its client and, off the controller, its k8s_info and k8s_cp modules), the kubernetes Python client
"""

EXAMPLES = r"""
- name: Copy the DAG folder onto the DAG volume, through a running dag-processor pod
  airflow_k8s.platform.kube_copy:
    namespace: airflow
    label_selectors: [app.kubernetes.io/instance=airflow, app.kubernetes.io/component=dag-processor]
    container: dag-processor
    local_path: "{{ playbook_dir }}/files/dags"
    remote_path: /opt/airflow/dags
"""

RETURN = r"""
pod:
  description: Name of the pod the content was copied through.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.airflow_k8s.platform.plugins.module_utils.kube_copy_spec import (
    ARGUMENT_SPEC, MUTUALLY_EXCLUSIVE, REQUIRED_ONE_OF)


def main():
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
        required_one_of=REQUIRED_ONE_OF,
        supports_check_mode=True,
    )
    module.fail_json(msg="kube_copy runs on the controller through its action plugin; it cannot run on a managed host")


if __name__ == "__main__":
    main()
