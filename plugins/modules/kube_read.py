#!/usr/bin/python
# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Several kubernetes.core.k8s_info reads in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kube_read
short_description: Read several kinds of Kubernetes objects in one task
version_added: 1.0.0
author: airflow_k8s maintainers (@airflow-k8s)
description:
  - Runs one C(kubernetes.core.k8s_info) lookup per entry of I(queries), all in one module run (one Python
    process, one import of the Kubernetes client, one API discovery). A role that must know what an earlier
    run left (Secrets, claims, Jobs) reads it with one task instead of one task per object.
  - The lookups are those of C(kubernetes.core.k8s_info) (its C(K8sService.find)), with its client and
    authentication. An object or namespace that does not exist gives an empty list; an API the cluster does
    not serve gives an empty list and the query's name in I(api_missing).
  - The action plugin gives the module the task's C(module_defaults) for C(group/kubernetes.core.k8s)
    (C(kubeconfig), C(context)), as for the kubernetes.core modules.
  - Set C(no_log) on the task when a query can return a Secret.
options:
  queries:
    description:
      - Lookups by name. Each is a dict with C(kind) (required), C(api_version) (default C(v1)), and optionally
        C(name), C(namespace), C(label_selectors), C(field_selectors), as for C(kubernetes.core.k8s_info).
      - An entry whose value is empty (C(null) or C({})) is skipped and returns no key.
    type: dict
    required: true
  errors:
    description:
      - What a failed lookup (an unreachable API server, a refused request, a malformed query) does.
      - C(fail) fails the task. C(return) ends the module without failing and puts the message in I(error). A task
        with C(no_log) (it reads Secrets) hides a failure's message too, so such a task uses C(return) and a
        next task, without C(no_log), fails with I(error), which never holds an object's data.
    type: str
    choices: [fail, return]
    default: fail
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
requirements:
  - kubernetes.core (its module_utils), the kubernetes Python client
"""

EXAMPLES = r"""
- name: Read what an earlier run left, in one task
  airflow_k8s.platform.kube_read:
    queries:
      secret: {kind: Secret, namespace: airflow, name: airflow-secrets}
      claim: {kind: PersistentVolumeClaim, namespace: airflow, name: airflow-dags}
      jobs: {kind: Job, api_version: batch/v1, namespace: airflow, label_selectors: ["app.kubernetes.io/instance=airflow"]}
      classes: {kind: StorageClass, api_version: storage.k8s.io/v1}
  register: observed
  no_log: true

- name: Use them
  ansible.builtin.debug:
    msg: "{{ observed.resources.claim | length }} claim(s), {{ observed.resources.classes | length }} classes"
"""

RETURN = r"""
resources:
  description: For each query's name, the objects found (a list, empty when none).
  returned: always
  type: dict
api_missing:
  description: The queries whose apiVersion and kind the cluster does not serve.
  returned: always
  type: list
  elements: str
error:
  description: Why the lookups failed, with I(errors=return); I(resources) is then empty.
  returned: on a failure with I(errors=return)
  type: str
"""

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService
from ansible_collections.airflow_k8s.platform.plugins.module_utils.kube_read_spec import (
    QueryFailed, check_queries, read_queries)


def argspec() -> dict:
    args = copy.deepcopy(AUTH_ARG_SPEC)
    args["queries"] = {"type": "dict", "required": True}
    args["errors"] = {"type": "str", "choices": ["fail", "return"], "default": "fail"}
    return args


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argspec(), supports_check_mode=True)
    queries = module.params["queries"]

    def fail(msg: str) -> None:
        msg = "kube_read: " + msg
        if module.params["errors"] == "return":
            module.exit_json(changed=False, resources={}, api_missing=[], error=msg)
        module.fail_json(msg=msg)

    errors = check_queries(queries)
    if errors:
        fail("; ".join(errors))
    try:
        svc = K8sService(get_api_client(module), module)
    except Exception as e:  # CoreException, or for an unreachable API server a urllib3 or client error
        fail(f"no client for the cluster: {e}")

    def find(kind: str, api_version: str, **selectors) -> tuple:
        found = svc.find(kind, api_version, **selectors)
        return found.get("resources") or [], found.get("api_found", True)

    try:
        resources, missing = read_queries(queries, find, errors=(CoreException,))
    except QueryFailed as e:
        fail(str(e))
    module.exit_json(changed=False, resources=resources, api_missing=missing)


if __name__ == "__main__":
    main()
