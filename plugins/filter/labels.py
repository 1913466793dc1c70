# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The one place that decides the labels every object of the collection carries."""

from __future__ import annotations

import re

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MANAGED_BY = "airflow_k8s.platform"
PART_OF = "airflow"


def _check(name: str, value: str) -> str:
    value = str(value)
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(f"{name} {value!r} is not a valid label value (lowercase letters, digits, '-', at most 63)")
    return value


def selector_labels(component: str, instance: str) -> dict[str, str]:
    """Labels that select one component's pods; never change for a running workload."""
    return {
        "app.kubernetes.io/name": "airflow",
        "app.kubernetes.io/instance": _check("instance", instance),
        "app.kubernetes.io/component": _check("component", component),
    }


def labels(component: str, instance: str, version: str | None = None) -> dict[str, str]:
    """Recommended Kubernetes labels for an object of this collection."""
    result = selector_labels(component, instance)
    result["app.kubernetes.io/part-of"] = PART_OF
    result["app.kubernetes.io/managed-by"] = MANAGED_BY
    if version:
        result["app.kubernetes.io/version"] = str(version)
    return result


class FilterModule:
    """Label filters."""

    def filters(self):
        return {"labels": labels, "selector_labels": selector_labels}
