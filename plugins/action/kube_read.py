# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Answers kube_read with the task's module_defaults for kubernetes.core.k8s_info.

A module of this collection is not in the group/kubernetes.core.k8s action group, so a play's
module_defaults for that group (kubeconfig, context, host...) would not reach it; this action gives it
the same defaults kubernetes.core.k8s_info would get. When the task runs on this machine, the reads are made
in this process (plugins/plugin_utils/kube_local.py: no module start, about 1 s less); otherwise the
kube_read module makes them.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

# module_defaults for a module an action plugin runs itself (what gather_facts does); meta/runtime.yml
# requires ansible-core 2.19, where this is the helper's name. On an older one run() refuses first, in words.
try:
    from ansible.executor.module_common import _apply_action_arg_defaults
except ImportError:
    _apply_action_arg_defaults = None

from ansible_collections.airflow_k8s.platform.plugins.module_utils.kube_read_spec import QueryFailed, check_queries, read_queries
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import kube_local
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import core_version


class ActionModule(ActionBase):
    """Action plugin behind airflow_k8s.platform.kube_read."""

    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        if refused := core_version.refusal():  # ansible-core older than meta/runtime.yml requires, in words
            return refused
        result = super().run(tmp, task_vars)
        args = _apply_action_arg_defaults("kubernetes.core.k8s_info", self._task, dict(self._task.args),
                                          self._templar)
        with kube_local.Kubeconfigs(self) as kubeconfigs:  # a vaulted kubeconfig, decrypted for this task
            args = kubeconfigs.resolve(args)
            if kube_local.usable(self):
                result.update(self._read(args))
            else:
                result.update(self._execute_module(module_name="airflow_k8s.platform.kube_read",
                                                   module_args=args, task_vars=task_vars))
        return result

    @staticmethod
    def _read(args: dict) -> dict:
        """The kube_read module's answer, made in this process."""
        errors_mode = args.get("errors", "fail")

        def fail(msg: str) -> dict:
            msg = "kube_read: " + msg
            if errors_mode == "return":
                return {"changed": False, "resources": {}, "api_missing": [], "error": msg}
            return {"failed": True, "msg": msg}

        if errors_mode not in ("fail", "return"):
            return {"failed": True, "msg": f"kube_read: errors must be fail or return, got {errors_mode!r}"}
        queries = args.get("queries")
        problems = check_queries(queries)
        if problems:
            return fail("; ".join(problems))
        try:
            kube = kube_local.Kube(args)
        except kube_local.KubeError as e:
            return fail(str(e))
        try:
            # API errors, and urllib3 errors of an unreachable API server
            resources, missing = read_queries(queries, kube.read, describe=kube_local.api_error)
        except QueryFailed as e:
            return fail(str(e))
        return {"changed": False, "resources": resources, "api_missing": missing}
