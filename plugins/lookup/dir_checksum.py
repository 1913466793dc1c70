# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Checksum of a folder's files, computed on the controller (no module run, no shell)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: dir_checksum
author: airflow_k8s maintainers (@airflow-k8s)
version_added: 1.0.0
short_description: SHA-256 of the regular files of a controller folder, skipping __pycache__
description:
  - Returns, per term (a folder on the controller), the value of
    C(find . -type f ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum)
    run in that folder, without a shell or a module run.
  - Symbolic links are neither followed nor counted, as with C(find -type f).
  - airflow_core records it on the DAG claim and copies a local DAG folder only when it changed.
options:
  _terms:
    description: Folders on the controller.
    type: list
    elements: path
    required: true
"""

EXAMPLES = r"""
- name: Checksum a DAG folder
  ansible.builtin.debug:
    msg: "{{ lookup('airflow_k8s.platform.dir_checksum', playbook_dir ~ '/dags') }}"
"""

RETURN = r"""
_raw:
  description: One 64-character hexadecimal SHA-256 per term.
  type: list
  elements: str
"""

import hashlib
import os

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

_CHUNK = 1 << 20


def _file_sha256(path: bytes) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256sum_line(hexdigest: str, name: bytes) -> bytes:
    """One line of coreutils sha256sum's output; a name with a backslash or newline is escaped and flagged."""
    if b"\\" in name or b"\n" in name:
        escaped = name.replace(b"\\", b"\\\\").replace(b"\n", b"\\n")
        return b"\\" + hexdigest.encode() + b"  " + escaped + b"\n"
    return hexdigest.encode() + b"  " + name + b"\n"


def dir_checksum(folder: str) -> str:
    """The checksum of every regular file below folder (names relative as ./path, bytewise order)."""
    root = os.fsencode(folder)
    if not os.path.isdir(root):
        raise AnsibleError(f"dir_checksum: {folder!r} is not a folder on the controller")
    names = []
    for dirpath, _dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        if b"__pycache__" in rel_dir.split(b"/"):
            continue
        for filename in filenames:
            full = os.path.join(dirpath, filename)
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            names.append(b"./" + os.path.normpath(os.path.join(rel_dir, filename)))
    total = hashlib.sha256()
    for name in sorted(names):
        total.update(_sha256sum_line(_file_sha256(os.path.join(root, name[2:])), name))
    return total.hexdigest()


class LookupModule(LookupBase):
    """Lookup entry point."""

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [dir_checksum(str(term)) for term in terms]
