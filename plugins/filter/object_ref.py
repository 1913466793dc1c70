# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Build the minimal reference to a Kubernetes object that kubernetes.core.k8s needs to delete it."""

from __future__ import annotations


def object_ref(value, namespace: str, api_version: str | None = None, kind: str | None = None) -> dict:
    """Return {apiVersion, kind, metadata: {name, namespace}}.

    value is either an object name (then api_version and kind are required) or a dict with the keys
    apiVersion, kind and name (other keys are ignored).
    """
    if isinstance(value, dict):
        if "metadata" in value:
            return {
                "apiVersion": value["apiVersion"],
                "kind": value["kind"],
                "metadata": {"name": value["metadata"]["name"], "namespace": value["metadata"].get("namespace", namespace)},
            }
        api_version, kind, name = value.get("apiVersion"), value.get("kind"), value.get("name")
    else:
        name = value
    if not (api_version and kind and name):
        raise ValueError("object_ref needs apiVersion, kind and name")
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": str(name), "namespace": namespace}}


class FilterModule:
    """Object reference filter."""

    def filters(self):
        return {"object_ref": object_ref}
