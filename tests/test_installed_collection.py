"""The collection as a Galaxy/AWX user gets it: the built tarball, installed into an empty collections path, its
playbooks run by FQCN from a directory outside the repository, with no ansible.cfg of ours.

Every shipped sample inventory must render from the installed copy (the vault sample with the example password
that ships beside the inventories), the manifests must land under the working directory (one folder per host),
and the installed collection must be left exactly as installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from lib.ansible_run import INVENTORIES, REPO, RunResult, ansible_bin, manifest_files

COLLECTION = ("airflow_k8s", "platform")


@dataclass(frozen=True)
class Installed:
    root: Path  # the collections path given to Ansible
    collection: Path  # <root>/ansible_collections/airflow_k8s/platform
    config: Path  # an empty ansible.cfg
    snapshot: dict[str, str]


def _clean_env(config: Path, collections: Path) -> dict[str, str]:
    """The caller's environment without any ANSIBLE_* setting, an empty ansible.cfg and the temp collections path
    (kubernetes.core still resolves from the ansible package next to the interpreter)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
               PYTHONUNBUFFERED="1")
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> RunResult:
    started = time.monotonic()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return RunResult(args, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def _snapshot(folder: Path) -> dict[str, str]:
    """Every entry under the folder: a file's digest and mode, a directory's mode, a link's target."""
    entries = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            entries[rel] = "link:" + os.readlink(path)
        elif path.is_dir():
            entries[rel] = f"dir:{path.stat().st_mode:o}"
        else:
            entries[rel] = f"{path.stat().st_mode:o}:" + hashlib.sha256(path.read_bytes()).hexdigest()
    return entries


def _uses_vault(inventory: Path) -> bool:
    return any("$ANSIBLE_VAULT;" in p.read_text(errors="replace") for p in inventory.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("installed")
    config = base / "empty.cfg"
    config.write_text("")
    root = base / "collections"
    env = _clean_env(config, root)
    dist = base / "dist"
    built = _run([ansible_bin("ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(REPO)],
                 cwd=base, env=env)
    assert built.returncode == 0, built.describe()
    tarballs = sorted(dist.glob("*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    assert not root.exists(), "the collections path must start empty"
    done = _run([ansible_bin("ansible-galaxy"), "collection", "install", str(tarballs[0]), "-p", str(root),
                 "--no-deps"], cwd=base, env=env)
    assert done.returncode == 0, done.describe()
    collection = root.joinpath("ansible_collections", *COLLECTION)
    assert (collection / "MANIFEST.json").is_file(), done.describe()
    return Installed(root, collection, config, _snapshot(collection))


@dataclass(frozen=True)
class Rendered:
    inventory: str
    cwd: Path
    result: RunResult


@pytest.fixture(scope="module")
def rendered(installed: Installed, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """render.yml by FQCN for every shipped inventory of the installed copy, each from its own empty directory."""

    def render(inventory: str) -> Rendered:
        cwd = tmp_path_factory.mktemp(f"user-{inventory}")
        folder = installed.collection / "inventories" / inventory
        args = [ansible_bin("ansible-playbook"), "-i", str(folder), ".".join(COLLECTION) + ".render"]
        if _uses_vault(folder):
            args += ["--vault-password-file", str(installed.collection / "inventories" / "vault-password.example")]
        return Rendered(inventory, cwd, _run(args, cwd=cwd, env=_clean_env(installed.config, installed.root)))

    with ThreadPoolExecutor(max_workers=len(INVENTORIES)) as pool:
        results = list(pool.map(render, INVENTORIES))
    return {r.inventory: r for r in results}


def test_the_tarball_ships_every_sample_inventory_and_the_example_vault_password(installed: Installed) -> None:
    shipped = sorted(p.name for p in (installed.collection / "inventories").iterdir() if p.is_dir())
    assert shipped == sorted(INVENTORIES), shipped
    assert (installed.collection / "inventories" / "vault-password.example").is_file()


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_inventory_folders_hold_inventory_files_only(installed: Installed, inventory: str) -> None:
    """Without our ansible.cfg's ignore lists every file of an inventory folder is an inventory source, except
    what group_vars/ and host_vars/ hold: anything else (a CA bundle, a password file) breaks the parse."""
    folder = installed.collection / "inventories" / inventory
    strays = [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
              and p.parts[len(folder.parts)] not in ("group_vars", "host_vars") and p.suffix not in (".yml", ".yaml")]
    assert not strays, f"inventories/{inventory} holds files that are not inventory sources: {strays}"


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_sample_inventory_renders_from_the_installed_copy(rendered: dict[str, Rendered], installed: Installed,
                                                          inventory: str) -> None:
    run = rendered[inventory]
    assert run.result.returncode == 0, run.result.describe()
    out = run.result.output
    assert "as an inventory source" not in out and "Failed to parse" not in out, out[-4000:]
    hosts_file = installed.collection / "inventories" / inventory / "hosts.yml"
    hosts = sorted((yaml.safe_load(hosts_file.read_text())["airflow"]["hosts"]) or {})
    assert hosts, f"{hosts_file} has no host in group airflow"
    render_root = run.cwd / "render" / inventory
    assert sorted(p.name for p in render_root.iterdir()) == hosts, "one render folder per host expected"
    for host in hosts:
        names = [p.name for p in manifest_files(render_root / host)]
        assert "00-namespace.yaml" in names and any(n.startswith("31-core-") for n in names), names
        assert f"Manifests written to {render_root / host}" in out, out[-2000:]


def test_renders_leave_the_installed_collection_unchanged(rendered: dict[str, Rendered],
                                                          installed: Installed) -> None:
    assert all(r.result.returncode == 0 for r in rendered.values()), "see the render tests"
    after = _snapshot(installed.collection)
    added = sorted(set(after) - set(installed.snapshot))
    changed = sorted(k for k in set(after) & set(installed.snapshot) if after[k] != installed.snapshot[k])
    removed = sorted(set(installed.snapshot) - set(after))
    assert not (added or changed or removed), f"added {added[:20]}, changed {changed[:20]}, removed {removed[:20]}"
