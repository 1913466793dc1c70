"""One source for each fact: no role's vars/ copies a default, the Airflow version agrees everywhere, and a user's
inventory value of a role variable wins over the shared fallback (no playbook group_vars in between)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lib.ansible_run import REPO
from lib.specs import load_yaml, role_defaults, role_dirs

ROLES = [r for r in role_dirs() if (r / "vars" / "main.yml").is_file()]
BUMP = REPO / "tests" / "scripts" / "bump-airflow-version.py"
# Innermost {...} of a Jinja expression, and the quoted keys written in it.
_DICT_LITERAL = re.compile(r"\{[^{}]*\}")
_KEY = re.compile(r"'([A-Za-z_][A-Za-z0-9_]*)'\s*:")


def _walk(value: Any, path: str = ""):
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def copies_of_defaults(defaults: dict[str, Any], variables: dict[str, Any]) -> list[str]:
    """Places of `variables` (a vars/main.yml) that repeat a default of `defaults` (its defaults/main.yml)."""
    default_dicts = [(p, v) for p, v in _walk(defaults) if isinstance(v, dict) and len(v) >= 2 and not _is_template(v)]
    # Scalars that identify a default on sight: image references, versions, paths (not "main" or "1Gi").
    default_words = {v for _, v in _walk(defaults)
                     if isinstance(v, str) and not _is_template(v) and len(v) >= 6 and re.search(r"[:/.]", v)}
    problems = []
    for path, value in _walk(variables):
        if isinstance(value, dict) and value:
            for dpath, dvalue in default_dicts:
                common = [k for k in set(value) & set(dvalue) if value[k] == dvalue[k]]
                if len(common) >= 2:
                    problems.append(f"{path}: repeats {sorted(common)} of the default {dpath}")
        if isinstance(value, str):
            if _is_template(value):
                for literal in _DICT_LITERAL.findall(value):
                    keys = set(_KEY.findall(literal))
                    for dpath, dvalue in default_dicts:
                        if len(keys & set(dvalue)) >= 2:
                            problems.append(f"{path}: a dict literal with keys {sorted(keys & set(dvalue))} of {dpath}")
            problems += [f"{path}: repeats the default value {word!r}" for word in default_words if word in value]
    return sorted(set(problems))


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_vars_hold_no_copy_of_a_default(role: Path) -> None:
    problems = copies_of_defaults(role_defaults(role), load_yaml(role / "vars" / "main.yml") or {})
    assert not problems, f"{role.name}: vars/main.yml copies defaults (merge with with_defaults instead):\n" + "\n".join(problems)


def test_copies_of_defaults_can_fail() -> None:
    """Self-check on the shapes vars/ used to have: a literal base dict, a dict literal in Jinja, a copied image."""
    defaults = {"r_scheduler": {"replicas": 1, "resources": {}, "node_selector": {}},
                "r_statsd": {"enabled": False, "image": "quay.io/prometheus/statsd-exporter:v0.28.0"}}
    variables = {
        "_r_base": {"replicas": 1, "resources": {}, "tolerations": []},
        "_r_statsd": "{{ {'enabled': false, 'image': 'x'} | combine(r_statsd) }}",
        "_r_image": "{{ r_statsd.image | default('quay.io/prometheus/statsd-exporter:v0.28.0') }}",
        "_r_fine": "{{ r_scheduler | airflow_k8s.platform.with_defaults('r_scheduler') }}",
    }
    problems = "\n".join(copies_of_defaults(defaults, variables))
    for expected in ("_r_base: repeats", "_r_statsd: a dict literal", "_r_image: repeats the default value"):
        assert expected in problems, f"not detected: {expected}\n{problems}"
    assert "_r_fine" not in problems


def test_airflow_version_agrees_everywhere() -> None:
    result = subprocess.run([sys.executable, str(BUMP), "--check"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def _version() -> str:
    return subprocess.run([sys.executable, str(BUMP), "--check"], capture_output=True, text=True,
                          cwd=REPO).stdout.split()[1]


# Files where the version may appear without being a place the bump script edits: history, generated docs,
# the lock (checked by --check), and test inputs that are only examples of an image reference.
_ALLOWED = re.compile(r"^(CHANGELOG|NOTES\.md|README\.md|CONTRIBUTING\.md|changelogs/|docs/|roles/[a-z_]+/README\.md$"
                      r"|tests/images/README\.md|tests/images/airflow/requirements\.lock|tests/unit/|tests/test_bad_input\.py)")


def test_no_unknown_copy_of_the_version() -> None:
    """Every tracked file holding the current version is a place bump-airflow-version.py edits (or history/docs)."""
    version = _version()
    listed = subprocess.run(["git", "grep", "-l", "-F", version], capture_output=True, text=True, cwd=REPO).stdout.split()
    spec = __import__("importlib.util").util.spec_from_file_location("bump", BUMP)
    bump = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(bump)
    known = {str(p.relative_to(REPO)) for pattern, _ in bump.PLACES for p in REPO.glob(pattern)}
    unknown = [f for f in listed if f not in known and not _ALLOWED.match(f)]
    assert not unknown, f"Airflow {version} is copied in files bump-airflow-version.py does not edit: {unknown}"
    in_roles = subprocess.run(["git", "grep", "-c", "-F", version, "--", "roles", "playbooks"], capture_output=True,
                              text=True, cwd=REPO).stdout.split()
    assert sum(int(line.rsplit(":", 1)[1]) for line in in_roles) <= 6, in_roles


def test_bump_changes_every_place(tmp_path: Path) -> None:
    """The bump script run on a copy moves every place to the new version; only the lock is left to re-lock."""
    for folder in ("roles", "inventories", "extensions/molecule", "tests/images", "tests/scripts"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns(".venv", "*.json"))
    script = tmp_path / "tests/scripts/bump-airflow-version.py"
    old = _version()
    result = subprocess.run([sys.executable, str(script), "3.99.1"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    check = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True, cwd=tmp_path)
    assert check.returncode == 1
    assert check.stdout.strip().splitlines() == [f"tests/images/airflow/requirements.lock: {old} != 3.99.1"], check.stdout
    defaults = yaml.safe_load((tmp_path / "roles/airflow_core/defaults/main.yml").read_text())
    assert "3.99.1" in defaults["airflow_core_version"]
    assert "3.99.1" in (tmp_path / "roles/airflow_core/README.md").read_text()


def test_inventory_group_vars_all_wins_over_the_shared_fallback(tmp_path: Path) -> None:
    """A role variable set in the inventory's group_vars/all beats the role's fallback to the shared value (no
    playbook group_vars/all sits in between any more), while the shared value still fills the others."""
    from lib.ansible_run import ansible_bin, ansible_env, manifest_files
    from lib.manifests import load_documents

    inventory = tmp_path / "inventory"
    shutil.copytree(REPO / "inventories" / "local", inventory)
    (inventory / "group_vars" / "all").mkdir()
    (inventory / "group_vars" / "all" / "main.yml").write_text("---\nairflow_core_namespace: team-core\n")
    out = tmp_path / "render"
    result = subprocess.run([ansible_bin("ansible-playbook"), "-i", str(inventory), "playbooks/render.yml",
                             "-e", f"airflow_render_dir={out}",
                             # the copy's relative DAG folder does not resolve from tmp_path
                             "-e", '{"airflow_core_dags": {"mode": "pvc", "pvc_create": true}}'], cwd=REPO, env=ansible_env(), capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    documents = [d.obj for d in load_documents(manifest_files(out))]
    namespaces = {(d["kind"], d["metadata"]["name"]): d["metadata"].get("namespace") for d in documents}
    assert namespaces[("Deployment", "airflow-scheduler")] == "team-core", namespaces
    assert namespaces[("StatefulSet", "airflow-postgres")] == "airflow", "airflow_db lost the shared airflow_namespace"
