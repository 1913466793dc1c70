"""Schema validation of rendered objects with kubernetes-validate (strict: unknown fields are errors)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
from kubernetes_validate import utils as kv_utils

# Exact version strings kubernetes-validate 1.37.0 ships schemas for (v<version>-local-strict):
# the oldest Kubernetes the collection supports and the version of the test cluster.
KUBERNETES_VERSIONS = ("1.30.0", "1.34.0")

# Custom resources (no built-in schema) the collection may render; anything else without a schema fails.
CUSTOM_RESOURCES = frozenset(
    {
        ("external-secrets.io/v1", "ExternalSecret"),
        ("core.libopenstorage.org/v1", "StorageCluster"),
        ("monitoring.coreos.com/v1", "ServiceMonitor"),
    }
)


def supported_versions() -> list[str]:
    return kv_utils.all_versions()


def validate(obj: dict[str, Any], version: str) -> str | None:
    """None when ``obj`` is valid for ``version``, else a one-line reason.

    Also fails when the library silently fell back to an older schema than asked for.
    """
    key = (obj.get("apiVersion"), obj.get("kind"))
    try:
        used = kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path) or "<root>"
        return f"{path}: {exc.message}"
    except kubernetes_validate.SchemaNotFoundError as exc:
        if key in CUSTOM_RESOURCES:
            return None
        return exc.message
    except kubernetes_validate.InvalidSchemaError as exc:
        return f"schema error: {exc.message}"
    if used != kv_utils.major_minor(version):
        return f"validated against {used} instead of {version}"
    return None
