# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Arguments of airflow_k8s.platform.kube_apply, shared by the action plugin and the module's documentation stub."""

from __future__ import annotations

ARGUMENT_SPEC = {
    "phase": {"type": "str"},
    "objects": {"type": "list", "elements": "raw", "default": []},
    "absent": {"type": "list", "elements": "dict", "default": []},
    "phases": {
        "type": "list", "elements": "dict",
        "options": {
            "phase": {"type": "str", "required": True},
            "objects": {"type": "list", "elements": "raw", "default": []},
            "absent": {"type": "list", "elements": "dict", "default": []},
        },
    },
    "render_dir": {"type": "str", "default": ""},
    "field_manager": {"type": "str", "default": "airflow-k8s"},
    "wait": {"type": "bool", "default": False},
    "wait_timeout": {"type": "int", "default": 600},
    "apply": {"type": "bool", "default": True},
    "create_only": {"type": "bool", "default": False},
}

# One phase (phase, objects, absent) or several applied together (phases), not both.
MUTUALLY_EXCLUSIVE = [["phase", "phases"], ["objects", "phases"], ["absent", "phases"]]
REQUIRED_ONE_OF = [["phase", "phases"]]
