# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Copy a local folder's content into a running pod: find the pod, then kubernetes.core.k8s_cp's tar over exec.

A kubernetes.core.k8s_cp run costs a module start (about 1 s on our 2-CPU machines, most of it importing the
Kubernetes client in a fresh Python) and needs the pod found by two tasks before it. When the task runs on this
machine the pod is found and the archive streamed in this process (plugins/plugin_utils/kube_local.py), and the
task waits until tar in the pod has exited; otherwise kubernetes.core.k8s_info and kubernetes.core.k8s_cp run.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.airflow_k8s.platform.plugins.module_utils.kube_copy_spec import (
    ARGUMENT_SPEC, MUTUALLY_EXCLUSIVE, REQUIRED_ONE_OF)
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import core_version
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import kube_local

# module_defaults for a module an action plugin runs itself (what gather_facts does); meta/runtime.yml
# requires ansible-core 2.19, where this is the helper's name. On an older one run() refuses first, in words.
try:
    from ansible.executor.module_common import _apply_action_arg_defaults
except ImportError:
    _apply_action_arg_defaults = None


class ActionModule(ActionBase):
    """Action plugin behind airflow_k8s.platform.kube_copy."""

    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        if refused := core_version.refusal():  # ansible-core older than meta/runtime.yml requires, in words
            return refused
        result = super().run(tmp, task_vars)
        validated = ArgumentSpecValidator(ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE,
                                          required_one_of=REQUIRED_ONE_OF).validate(self._task.args)
        if validated.error_messages:
            raise AnsibleActionFail("kube_copy: " + "; ".join(validated.error_messages))
        args = validated.validated_parameters
        local_path = args["local_path"].rstrip("/") or "/"
        if not os.path.isdir(local_path):
            return {**result, "failed": True,
                    "msg": f"kube_copy: local_path {local_path} is not a folder on the controller"}
        if not args["remote_path"].startswith("/") or not args["remote_path"].strip("/"):
            return {**result, "failed": True,
                    "msg": f"kube_copy: remote_path {args['remote_path']!r} must be an absolute folder other than /"}
        with kube_local.Kubeconfigs(self) as kubeconfigs:  # a vaulted kubeconfig, decrypted for this task
            if kube_local.usable(self):
                try:
                    kube = kube_local.Kube(kubeconfigs.resolve(
                        _apply_action_arg_defaults("kubernetes.core.k8s_cp", self._task, {}, self._templar)))
                    return {**result, **self._copy_here(kube, args, local_path)}
                except Exception as e:  # API errors, urllib3 errors of an unreachable API server, KubeError
                    return {**result, "failed": True, "msg": f"kube_copy: {kube_local.api_error(e)}"}
            return {**result, **self._copy_module(args, local_path, kubeconfigs, task_vars)}

    def _no_pod(self, args: dict) -> dict:
        which = f"pod {args['pod']}" if args["pod"] else "pod with labels " + ", ".join(args["label_selectors"])
        return {"failed": True, "msg": (
            f"kube_copy: no Running {which} in namespace {args['namespace']} to copy {args['local_path']} through."
            f" Check `kubectl -n {args['namespace']} get pods"
            + (f" -l {','.join(args['label_selectors'])}`." if args["label_selectors"] else "`."))}

    def _copy_here(self, kube, args: dict, local_path: str) -> dict:
        pod = kube.running_pod(args["namespace"], args["pod"], args["label_selectors"], args["container"])
        if pod is None:
            return self._no_pod(args)
        name = pod["metadata"]["name"]
        if not self._task.check_mode:
            kube.copy_to_pod(args["namespace"], name, args["container"], local_path, args["remote_path"],
                             args["timeout"])
        return {"changed": True, "pod": name}

    def _module(self, name: str, args: dict, kubeconfigs, task_vars: dict) -> dict:
        """Run a kubernetes.core module with the task's module_defaults for it (kubeconfig, context...)."""
        args = kubeconfigs.resolve(_apply_action_arg_defaults(name, self._task, args, self._templar))
        return self._execute_module(module_name=name, module_args=args, task_vars=task_vars)

    def _copy_module(self, args: dict, local_path: str, kubeconfigs, task_vars: dict) -> dict:
        query = {"kind": "Pod", "namespace": args["namespace"]}
        if args["pod"]:
            query["name"] = args["pod"]
        else:
            query.update(label_selectors=args["label_selectors"], field_selectors=["status.phase=Running"])
        found = self._module("kubernetes.core.k8s_info", query, kubeconfigs, task_vars)
        if found.get("failed"):
            return {"failed": True, "msg": f"kube_copy: reading the pods failed: {found.get('msg', '')}"}
        pod = kube_local.pick_pod(found.get("resources") or [], args["container"])
        if pod is None:
            return self._no_pod(args)
        name = pod["metadata"]["name"]
        copy = {"namespace": args["namespace"], "pod": name, "local_path": local_path + "/",
                "remote_path": args["remote_path"], "state": "to_pod"}
        if args["container"]:
            copy["container"] = args["container"]
        copied = self._module("kubernetes.core.k8s_cp", copy, kubeconfigs, task_vars)
        if copied.get("failed"):
            return {"failed": True, "msg": f"kube_copy: {copied.get('msg', '')}", "pod": name}
        return {"changed": True, "pod": name}
