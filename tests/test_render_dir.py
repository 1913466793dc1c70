"""Where render.yml writes: one folder per host, by default render/<inventory folder>/<host> under the directory
ansible-playbook runs in; an explicit airflow_render_dir shared by several hosts is refused; an earlier render's
NN-<phase>.yaml files are replaced and nothing else in the folder is touched.

A two-host copy of inventories/local renders only its namespace phase (--tags namespace), which is enough to see
where the files go (and that the folder preparation runs whatever the tags).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import yaml

from lib.ansible_run import REPO, RENDER_PLAYBOOK, RunResult, ansible_bin, ansible_env, manifest_files

HOSTS = ("cluster-a", "cluster-b")
# Each host its own deployment: a namespace and an instance of its own (host_vars)
OWN = {"cluster-a": ("team-a", "alpha"), "cluster-b": ("team-b", "beta")}


@pytest.fixture
def two_hosts(tmp_path: Path) -> Path:
    """inventories/local's group_vars with two hosts, in a folder named `multi`."""
    folder = tmp_path / "inventories" / "multi"
    folder.mkdir(parents=True)
    lines = ["---", "airflow:", "  hosts:"]
    for host in HOSTS:
        lines += [f"    {host}:", "      ansible_connection: local",
                  '      ansible_python_interpreter: "{{ ansible_playbook_python }}"']
    (folder / "hosts.yml").write_text("\n".join(lines) + "\n")
    (folder / "group_vars").symlink_to(REPO / "inventories" / "local" / "group_vars")
    return folder


def _render(inventory: Path, cwd: Path, *extra: str) -> RunResult:
    args = [ansible_bin("ansible-playbook"), "-i", str(inventory), str(REPO / RENDER_PLAYBOOK),
            "--tags", "namespace", *extra]
    env = ansible_env()
    # the DAG folder inventories/local finds relative to itself is not beside this copy
    env["AIRFLOW_K8S_DAGS_DIR"] = str(REPO / "playbooks" / "files" / "dags")
    started = time.monotonic()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
    return RunResult(args, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def test_default_is_one_folder_per_host_under_the_working_directory(two_hosts: Path, tmp_path: Path) -> None:
    cwd = tmp_path / "work"
    cwd.mkdir()
    result = _render(two_hosts, cwd)
    assert result.returncode == 0, result.describe()
    for host in HOSTS:
        folder = cwd / "render" / "multi" / host
        assert [p.name for p in manifest_files(folder)] == ["00-namespace.yaml"], result.describe()
        assert f"Manifests written to {folder}" in result.output, result.describe()
    assert sorted(p.name for p in (cwd / "render" / "multi").iterdir()) == sorted(HOSTS)


def test_one_explicit_folder_for_several_hosts_is_refused(two_hosts: Path, tmp_path: Path) -> None:
    target = tmp_path / "one-folder"
    result = _render(two_hosts, tmp_path, "-e", f"airflow_render_dir={target}")
    assert result.returncode != 0, result.describe()
    assert "is the folder of several hosts" in result.output, result.describe()
    assert all(h in result.output for h in HOSTS), result.describe()
    assert not target.exists(), "nothing may be written before the refusal"


def test_explicit_folder_for_one_host_replaces_only_earlier_manifests(two_hosts: Path, tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "31-core-old.yaml").write_text("kind: Old\n")
    (target / "notes.txt").write_text("mine\n")
    (target / "kustomization.yaml").write_text("resources: []\n")
    result = _render(two_hosts, tmp_path, "-e", f"airflow_render_dir={target}", "--limit", HOSTS[0])
    assert result.returncode == 0, result.describe()
    assert sorted(p.name for p in target.iterdir()) == ["00-namespace.yaml", "kustomization.yaml", "notes.txt"]
    assert (target / "notes.txt").read_text() == "mine\n"


def test_each_host_renders_its_own_deployment_into_its_own_folder(tmp_path: Path) -> None:
    """Hosts of one inventory with their own namespace and instance: each folder holds its host's Namespace, and the
    Namespace carries no instance label (one namespace, one instance; no run flips a namespace label)."""
    folder = tmp_path / "inventories" / "teams"
    (folder / "host_vars").mkdir(parents=True)
    lines = ["---", "airflow:", "  hosts:"]
    for host, (namespace, instance) in OWN.items():
        lines += [f"    {host}:", "      ansible_connection: local",
                  '      ansible_python_interpreter: "{{ ansible_playbook_python }}"']
        (folder / "host_vars" / f"{host}.yml").write_text(
            f"---\nairflow_namespace: {namespace}\nairflow_instance: {instance}\n")
    (folder / "hosts.yml").write_text("\n".join(lines) + "\n")
    (folder / "group_vars").symlink_to(REPO / "inventories" / "local" / "group_vars")
    cwd = tmp_path / "work"
    cwd.mkdir()
    result = _render(folder, cwd)
    assert result.returncode == 0, result.describe()
    for host, (namespace, _instance) in OWN.items():
        [namespace_file] = manifest_files(cwd / "render" / "teams" / host)
        docs = [d for d in yaml.safe_load_all(namespace_file.read_text()) if d]
        assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [("Namespace", namespace)], result.describe()
        labels = docs[0]["metadata"]["labels"]
        assert "app.kubernetes.io/instance" not in labels, labels
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted", labels
