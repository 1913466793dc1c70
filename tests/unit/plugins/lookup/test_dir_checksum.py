# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests of the airflow_k8s.platform.dir_checksum lookup (plugins/lookup/dir_checksum.py).

The lookup must give the value of the shell pipeline its docs name, byte for byte: a DAG claim labelled by an
older release (which ran that pipeline) must not look changed after an upgrade. Each case runs the real
pipeline (find, sort, sha256sum from coreutils) on the same folder and compares.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_COLLECTIONS = Path(__file__).resolve().parents[4] / ".collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

from ansible.errors import AnsibleError  # noqa: E402

from ansible_collections.airflow_k8s.platform.plugins.lookup.dir_checksum import dir_checksum  # noqa: E402

PIPELINE = "find . -type f ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum"


def shell_checksum(folder: Path) -> str:
    out = subprocess.run(["sh", "-c", PIPELINE], cwd=folder, check=True, capture_output=True)
    return out.stdout.split()[0].decode()


def write(folder: Path, name: str, data: bytes = b"x") -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_plain_tree(tmp_path: Path) -> None:
    write(tmp_path, "a.py", b"print(1)\n")
    write(tmp_path, "sub/b.py", b"print(2)\n")
    write(tmp_path, "sub/deeper/c.sql", b"select 1;\n")
    assert dir_checksum(str(tmp_path)) == shell_checksum(tmp_path)


def test_bytewise_order_and_odd_names(tmp_path: Path) -> None:
    for name in ("B.py", "a.py", "a b.py", "_x.py", "Z/1.py", "a-b/c.py", "a.b/c.py", "back\\slash.py", "ü.py"):
        write(tmp_path, name, name.encode())
    assert dir_checksum(str(tmp_path)) == shell_checksum(tmp_path)


def test_pycache_and_symlinks_are_left_out(tmp_path: Path) -> None:
    write(tmp_path, "dag.py", b"x = 1\n")
    write(tmp_path, "__pycache__/dag.cpython-312.pyc", b"\0\1")
    write(tmp_path, "sub/__pycache__/deep/m.pyc", b"\0\2")
    os.symlink("dag.py", tmp_path / "link.py")
    expected = shell_checksum(tmp_path)
    assert dir_checksum(str(tmp_path)) == expected
    (tmp_path / "__pycache__" / "dag.cpython-312.pyc").write_bytes(b"changed")
    assert dir_checksum(str(tmp_path)) == expected


def test_a_changed_byte_changes_the_checksum(tmp_path: Path) -> None:
    write(tmp_path, "dag.py", b"x = 1\n")
    before = dir_checksum(str(tmp_path))
    write(tmp_path, "dag.py", b"x = 2\n")
    assert dir_checksum(str(tmp_path)) != before
    assert dir_checksum(str(tmp_path)) == shell_checksum(tmp_path)


def test_empty_folder(tmp_path: Path) -> None:
    assert dir_checksum(str(tmp_path)) == shell_checksum(tmp_path)


def test_missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(AnsibleError, match="nope"):
        dir_checksum(str(tmp_path / "nope"))
