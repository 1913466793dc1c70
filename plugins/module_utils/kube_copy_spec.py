# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Arguments of airflow_k8s.platform.kube_copy, shared by the action plugin and the module's documentation stub."""

from __future__ import annotations

ARGUMENT_SPEC = {
    "namespace": {"type": "str", "required": True},
    "pod": {"type": "str"},
    "label_selectors": {"type": "list", "elements": "str"},
    "container": {"type": "str"},
    "local_path": {"type": "path", "required": True},
    "remote_path": {"type": "str", "required": True},
    "timeout": {"type": "int", "default": 300},
}

# The pod by its name, or the first Running one the labels select.
MUTUALLY_EXCLUSIVE = [["pod", "label_selectors"]]
REQUIRED_ONE_OF = [["pod", "label_selectors"]]
