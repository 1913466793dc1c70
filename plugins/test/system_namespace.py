# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Test whether a namespace is one of the cluster's own (the one list every role's preflight refuses)."""

from __future__ import annotations

from ansible_collections.airflow_k8s.platform.plugins.plugin_utils.input_rules import SYSTEM_NAMESPACES


def system_namespace(name) -> bool:
    """True for default, kube-system, kube-public and kube-node-lease."""
    return str(name) in SYSTEM_NAMESPACES


class TestModule:
    """Namespace tests."""

    def tests(self):
        return {"system_namespace": system_namespace}
