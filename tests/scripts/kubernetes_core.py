#!/usr/bin/env python3
# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""kubernetes.core trees for the contract tests, taken from the PyPI `ansible` packages that bundle them.

galaxy.yml allows kubernetes.core >=6.0.0,<7.0.0; the tests run against the oldest and the newest release of
that range (VERSIONS below: the one place they are pinned). No Galaxy server is reachable from CI, so each
tree comes from an `ansible` wheel (pinned by version and sha256), of which only
ansible_collections/kubernetes/core is kept, under .work/kubernetes.core/<version>/ (the directory that holds
ansible_collections/). The collection version is checked against the tree's MANIFEST.json.

    tests/scripts/kubernetes_core.py versions        the pinned kubernetes.core versions, one a line
    tests/scripts/kubernetes_core.py path 6.0.0      fetch (once) and print the tree's root
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE = REPO_ROOT / ".work" / "kubernetes.core"
PREFIX = "ansible_collections/kubernetes/core/"

# kubernetes.core version: (the ansible package that bundles it, sha256 of its py3-none-any wheel).
# 6.0.0 is in no final ansible release (12.0.0 has 6.1.0); the last pre-release with it is 12.0.0a9.
VERSIONS = {
    "6.0.0": ("12.0.0a9", "7ee84e9a6c0b14825c3273c416c16df962fe224384b0288a80b8c5941618d278"),
    "6.2.0": ("12.3.0", "cd156f82fa87f7a899212b0efa9f7ca3a24d609212de9f78428a572eb01e5414"),
}


def manifest_version(root: Path) -> str | None:
    manifest = root / PREFIX / "MANIFEST.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text())["collection_info"]["version"]


def tree(version: str) -> Path:
    """The root of the kubernetes.core `version` tree, fetched and extracted on first use."""
    if version not in VERSIONS:
        raise SystemExit(f"kubernetes.core {version} is not pinned in {__file__}: {', '.join(VERSIONS)}")
    root = CACHE / version
    if (root / ".complete").exists() and manifest_version(root) == version:
        return root
    ansible, sha256 = VERSIONS[version]
    with tempfile.TemporaryDirectory() as tmp:
        req = Path(tmp) / "requirements.txt"
        req.write_text(f"ansible=={ansible} --hash=sha256:{sha256}\n")
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                        "--only-binary=:all:", "--require-hashes", "-r", str(req), "-d", tmp], check=True)
        wheel = next(Path(tmp).glob(f"ansible-{ansible}-*.whl"))
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != sha256:  # pip checked it already; a second look costs nothing
            raise SystemExit(f"{wheel.name}: sha256 {digest}, pinned {sha256}")
        shutil.rmtree(root, ignore_errors=True)
        with zipfile.ZipFile(wheel) as whl:
            whl.extractall(root, [n for n in whl.namelist() if n.startswith(PREFIX)])
    found = manifest_version(root)
    if found != version:
        shutil.rmtree(root, ignore_errors=True)
        raise SystemExit(f"ansible {ansible} bundles kubernetes.core {found}, not {version}")
    (root / ".complete").write_text(f"ansible=={ansible}\n")
    return root


def main(argv: list[str]) -> int:
    if argv[:1] == ["versions"]:
        print("\n".join(VERSIONS))
        return 0
    if len(argv) == 2 and argv[0] == "path":
        print(tree(argv[1]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
