"""The collection as Galaxy, AWX and ansible-builder see it (`make package-check`).

The tarball is built and installed into an empty collections path, then checked by the tools the other side
runs: galaxy-importer (Galaxy's import, ansible-lint included), antsibull-docs (plugin and role docs, the role
examples), ansible-builder (the execution environment definition, and the introspection that collects the
Python packages of every collection going into an image). The requirement files are checked against each
other: ranges for users, exact pins for CI.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
FQCN = f"{GALAXY['namespace']}.{GALAXY['name']}"
# Dev files that must stay out of the tarball (galaxy.yml build_ignore).
NOT_SHIPPED = ("tests/", "extensions/", ".ci/", "Makefile", "ansible.cfg", "requirements-dev.txt",
               "CONTRIBUTING.md", "NOTES.md", "changelogs/fragments/", ".collections/", ".work/")
# Tools run outside the checkout, so that its ansible.cfg (collections_path: the checkout itself) stays out.
NEUTRAL_CWD = Path(tempfile.mkdtemp(prefix="package-check-"))
SHIPPED = ("LICENSE", "README.md", "requirements.txt", "requirements.yml", "meta/runtime.yml",
           "meta/execution-environment.yml", "docs/execution-environment.yml", "changelogs/changelog.yaml")


def _run(*cmd: str | Path, cwd: Path | None = None, env: dict | None = None, timeout: int = 300):
    full_env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
    # galaxy-importer and antsibull-docs find ansible-doc and ansible-lint on PATH: this venv's.
    full_env["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    full_env.update(env or {})
    return subprocess.run([str(c) for c in cmd], cwd=cwd or NEUTRAL_CWD, env=full_env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _requirements(path: Path) -> list[Requirement]:
    reqs = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            reqs += _requirements(path.parent / line.split(None, 1)[1])
        else:
            reqs.append(Requirement(line))
    return reqs


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "tests/constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep, f"tests/constraints.txt: not an exact pin: {line}"
            pins[_norm(name)] = version.strip()
    return pins


# --- requirement files -------------------------------------------------------------------------------------

def test_user_requirements_are_ranges_covering_kubernetes_core():
    reqs = {_norm(r.name): r for r in _requirements(ROOT / "requirements.txt")}
    assert "ansible" not in reqs, "users keep their own Ansible: ansible-core only"
    for req in reqs.values():
        assert not any(s.operator in ("==", "===") for s in req.specifier), f"exact pin for users: {req}"
    runtime_min = re.fullmatch(r">=\s*([\d.]+)",
                               yaml.safe_load((ROOT / "meta/runtime.yml").read_text())["requires_ansible"])
    assert runtime_min, "meta/runtime.yml requires_ansible is not a plain minimum"
    assert str(reqs["ansible-core"].specifier) == f">={runtime_min.group(1)}"
    # What kubernetes.core itself asks for (its copy bundled with the ansible package CI installs).
    import ansible_collections.kubernetes.core as kc  # pylint: disable=import-outside-toplevel

    kc_root = Path(kc.__path__[0])
    kc_version = Version(yaml.safe_load((kc_root / "MANIFEST.json").read_text())["collection_info"]["version"])
    assert kc_version.major == 6
    for req in _requirements(kc_root / "requirements.txt"):
        assert _norm(req.name) in reqs, f"kubernetes.core {kc_version} needs {req}, requirements.txt lacks it"


def test_constraints_pin_every_requirement_within_its_range_and_match_this_venv():
    pins = _constraints()
    for req in _requirements(ROOT / "requirements-dev.txt"):
        name = _norm(req.name)
        assert name in pins, f"{req.name} is not pinned in tests/constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req} does not allow the pin {pins[name]}"
    assert pins["ansible"] and pins["ansible-core"], "CI takes kubernetes.core from the pinned ansible package"
    drift = {name: (version, metadata.version(name)) for name, version in pins.items()
             if metadata.version(name) != version}
    assert not drift, f"this venv differs from tests/constraints.txt (run make venv): {drift}"


# --- metadata ----------------------------------------------------------------------------------------------

def _plugin_versions_added() -> dict[str, str]:
    found = {}
    for path in sorted((ROOT / "plugins").rglob("*")):
        doc = None
        if path.suffix == ".py":
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DOCUMENTATION":
                    doc = yaml.safe_load(node.value.value)
        elif path.suffix == ".yml":
            doc = yaml.safe_load(path.read_text()).get("DOCUMENTATION")
        if doc is not None:
            found[str(path.relative_to(ROOT))] = str(doc.get("version_added", ""))
    for path in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        for entry, spec in yaml.safe_load(path.read_text())["argument_specs"].items():
            found[f"{path.relative_to(ROOT)}:{entry}"] = str(spec.get("version_added", ""))
    return found


def test_version_and_version_added():
    version = Version(str(GALAXY["version"]))
    assert version >= Version("1.0.0")
    added = _plugin_versions_added()
    assert len(added) >= 15, added
    bad = {where: v for where, v in added.items()
           if not re.fullmatch(r"\d+\.\d+\.\d+", v) or Version(v) > version}
    assert not bad, f"version_added missing or newer than galaxy.yml's {version}: {bad}"


def test_license():
    assert bool(GALAXY.get("license")) != bool(GALAXY.get("license_file")), "license XOR license_file"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert GALAXY.get("license") == ["Apache-2.0"] or GALAXY.get("license_file") == "LICENSE"


# --- the tarball -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = _run(BIN / "ansible-galaxy", "collection", "build", "--output-path", out, ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    (path,) = out.glob("*.tar.gz")
    return path


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory) -> Path:
    """The tarball installed into an empty collections path (dependencies are in the venv already)."""
    collections = tmp_path_factory.mktemp("collections")
    result = _run(BIN / "ansible-galaxy", "collection", "install", "--no-deps", "-p", collections, tarball)
    assert result.returncode == 0, result.stdout + result.stderr
    # kubernetes.core beside it, as `ansible-galaxy collection install` would put it. antsibull-docs copies a
    # dependency from where `ansible-galaxy collection list` finds it, with `git ls-files` when that path is inside a
    # git checkout: the venv's bundled copy inside a clone (CI's .venv) would arrive empty.
    found = _run(BIN / "python", "-c",
                 "import ansible_collections.kubernetes.core as c; print(list(c.__path__)[0])")
    assert found.returncode == 0, found.stdout + found.stderr
    shutil.copytree(found.stdout.strip(), collections / "ansible_collections" / "kubernetes" / "core", symlinks=True)
    return collections


def test_tarball_holds_the_product_only(tarball):
    with tarfile.open(tarball) as tar:
        names = [m.name + ("/" if m.isdir() else "") for m in tar.getmembers()]
    leaked = [n for n in names for p in NOT_SHIPPED if n == p or n.startswith(p)]
    assert not leaked, f"dev files in the tarball: {leaked}"
    missing = [f for f in SHIPPED if f not in names]
    assert not missing, f"missing from the tarball: {missing}"
    for role in (ROOT / "roles").iterdir():
        assert f"roles/{role.name}/meta/argument_specs.yml" in names
    assert tarball.stat().st_size < 1024 * 1024, f"{tarball.name}: {tarball.stat().st_size} bytes"


def test_galaxy_importer_is_clean(tarball, tmp_path):
    config = tmp_path / "galaxy-importer.cfg"
    # As Galaxy imports it, without containers: ansible-test off, ansible-lint (production profile) on.
    config.write_text("[galaxy-importer]\nrun_ansible_test = False\nrun_ansible_lint = True\n"
                      "offline_ansible_lint = True\ncheck_changelog = True\nrequire_v1_or_greater = True\n"
                      "check_required_tags = True\n")
    result = _run(sys.executable, "-m", "galaxy_importer.main", tarball,
                  cwd=tmp_path, env={"GALAXY_IMPORTER_CONFIG": str(config)})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Importer processing completed successfully" in output, output
    findings = [line for line in output.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert not findings, "\n".join(findings)


def test_antsibull_docs_lint_is_clean(installed):
    collection = installed / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    # Only the installed path is searched (not the venv's bundled collections), and git never looks above it or
    # above the checkout: antsibull-docs copies a collection found inside a git work tree with `git ls-files`, which
    # leaves out what that work tree ignores (a .venv inside a clone, a CI host's own repository around /tmp).
    result = _run(BIN / "antsibull-docs", "lint-collection-docs", "--plugin-docs", collection,
                  env={"ANSIBLE_COLLECTIONS_PATH": str(installed), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
                       "GIT_CEILING_DIRECTORIES": os.pathsep.join((str(installed), str(ROOT)))})
    assert result.returncode == 0, result.stdout + result.stderr
    assert not result.stdout.strip(), result.stdout


# --- execution environments --------------------------------------------------------------------------------

def test_ansible_builder_introspection_takes_our_requirements(installed):
    """What ansible-builder runs inside the image build: our Python packages, not ansible-core."""
    result = _run(BIN / "ansible-builder", "introspect", "--sanitize", installed)
    assert result.returncode == 0, result.stdout + result.stderr
    data = yaml.safe_load(result.stdout)
    python = data["python"]
    ours = [r for r in _requirements(ROOT / "requirements.txt") if _norm(r.name) != "ansible-core"]
    for req in ours:
        assert f"{req}  # from collection {FQCN}" in python, (req, python)
    assert not [line for line in python if _norm(Requirement(line.split("#")[0]).name) == "ansible-core"]


def test_ansible_builder_accepts_the_ee_definition(tmp_path):
    context = tmp_path / "context"
    result = _run(BIN / "ansible-builder", "create", "-f", ROOT / "docs/execution-environment.yml",
                  "-c", context, "--output-filename", "Containerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    galaxy = yaml.safe_load((context / "_build/requirements.yml").read_text())
    assert [c["name"] for c in galaxy["collections"]] == [FQCN]
    runtime_min = yaml.safe_load((ROOT / "meta/runtime.yml").read_text())["requires_ansible"]
    assert f"ansible-core{runtime_min}" in (context / "Containerfile").read_text()
