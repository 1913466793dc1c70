"""Which kubernetes.core the unit tests import.

By default the one Python finds (the pinned `ansible` package bundles it). With AIRFLOW_K8S_KUBERNETES_CORE set
to a tree's root (the directory holding ansible_collections/kubernetes/core, as printed by
`tests/scripts/kubernetes_core.py path VERSION`), `ansible_collections.kubernetes` is imported from that tree
only: no module can fall back to another copy, and a name missing from that version fails its test.
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

_COLLECTIONS = Path(__file__).resolve().parents[2] / ".collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

_TREE = os.environ.get("AIRFLOW_K8S_KUBERNETES_CORE")
if _TREE:
    _kubernetes = Path(_TREE).resolve() / "ansible_collections" / "kubernetes"
    if not (_kubernetes / "core" / "MANIFEST.json").is_file():
        raise RuntimeError(f"AIRFLOW_K8S_KUBERNETES_CORE={_TREE}: no ansible_collections/kubernetes/core there")
    if "ansible_collections.kubernetes" in sys.modules:
        raise RuntimeError("ansible_collections.kubernetes was imported before tests/unit/conftest.py")
    import ansible_collections  # noqa: E402  (the namespace package: .collections and site-packages)

    _package = types.ModuleType("ansible_collections.kubernetes")
    _package.__path__ = [str(_kubernetes)]
    sys.modules["ansible_collections.kubernetes"] = _package
    ansible_collections.kubernetes = _package
