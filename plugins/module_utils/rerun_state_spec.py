# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Arguments of airflow_k8s.platform.rerun_state, shared by the action plugin and the module's documentation stub."""

from __future__ import annotations

ARGUMENT_SPEC = {
    "state": {"type": "str", "required": True, "choices": ["check", "record"]},
    "namespace": {"type": "str", "default": ""},
    "name": {"type": "str", "default": ""},
    "enabled": {"type": "raw", "default": True},
    "fingerprint": {"type": "str", "default": ""},
    "objects": {"type": "list", "elements": "str", "default": []},
    "labels": {"type": "dict", "default": {}},
    "summary": {"type": "list", "elements": "str", "default": []},
}
