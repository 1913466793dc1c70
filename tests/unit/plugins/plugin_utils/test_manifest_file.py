# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests of the render-mode writer (plugins/plugin_utils/manifest_file.py) used by the kube_apply action."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_COLLECTIONS = Path(__file__).resolve().parents[4] / ".collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

from ansible.errors import AnsibleActionFail  # noqa: E402

from ansible_collections.airflow_k8s.platform.plugins.plugin_utils.manifest_file import write_manifests  # noqa: E402

SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "aHVudGVyMg=="}}
CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}


def test_writes_blanked_secrets_then_reports_no_change(tmp_path: Path) -> None:
    dest = tmp_path / "30-core-secrets.yaml"
    assert write_manifests([SECRET, None, CONFIG], str(dest), check_mode=False) == (str(dest), True)
    text = dest.read_text()
    assert "aHVudGVyMg==" not in text and "kind: ConfigMap" in text
    assert dest.stat().st_mode & 0o777 == 0o644
    assert write_manifests([SECRET, CONFIG], str(dest), check_mode=False) == (str(dest), False)


def test_check_mode_reports_without_writing(tmp_path: Path) -> None:
    dest = tmp_path / "x.yaml"
    assert write_manifests([CONFIG], str(dest), check_mode=True) == (str(dest), True)
    assert not dest.exists()


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AnsibleActionFail, match="does not exist"):
        write_manifests([CONFIG], str(tmp_path / "no" / "x.yaml"), check_mode=False)
