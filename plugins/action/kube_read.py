# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Runs the kube_read module with the task's module_defaults for kubernetes.core.k8s_info.

A module of this collection is not in the group/kubernetes.core.k8s action group, so a play's
module_defaults for that group (kubeconfig, context, host...) would not reach it; this action gives it
the same defaults kubernetes.core.k8s_info would get.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

# module_defaults for a module an action plugin runs itself; meta/runtime.yml requires ansible-core 2.19.
from ansible.executor.module_common import _apply_action_arg_defaults


class ActionModule(ActionBase):
    """Action plugin behind airflow_k8s.platform.kube_read."""

    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = _apply_action_arg_defaults("kubernetes.core.k8s_info", self._task, dict(self._task.args),
                                          self._templar)
        result.update(self._execute_module(module_name="airflow_k8s.platform.kube_read", module_args=args,
                                           task_vars=task_vars))
        return result
