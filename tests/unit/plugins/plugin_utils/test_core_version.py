# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""An ansible-core older than meta/runtime.yml's requires_ansible is refused in words (plugin_utils/core_version.py).

The unit half reads the minimum from meta/runtime.yml and words the refusal; the end-to-end half runs
playbooks/render.yml with ansible-core 2.18 when a virtualenv with it exists (AIRFLOW_K8S_OLD_CORE_VENV, or
.work/venvs/ansible-core-2.18 as tests/scripts/contract.sh makes it) and expects that message, not a traceback.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import core_version

REPO = Path(__file__).resolve().parents[4]
OLD_CORE_VENV = Path(os.environ.get("AIRFLOW_K8S_OLD_CORE_VENV") or REPO / ".work" / "venvs" / "ansible-core-2.18")


def test_the_minimum_comes_from_meta_runtime_yml():
    assert core_version.minimum_core() == "2.19.0"
    assert core_version.RUNTIME_YML == REPO / "meta" / "runtime.yml"


def test_this_ansible_core_is_supported():
    assert core_version.core_problem() is None
    assert core_version.refusal() is None


@pytest.mark.parametrize("version", ["2.19.0", "2.19.14", "2.20.0.dev0", "2.19.0rc1", "3.0.0"])
def test_supported_versions(version):
    assert core_version.core_problem(version, "2.19.0") is None


@pytest.mark.parametrize("version", ["2.18.19", "2.18.0", "2.9.27", "2.17.14"])
def test_older_versions_are_refused_in_words(version):
    problem = core_version.core_problem(version, "2.19.0")
    assert problem.startswith("airflow_k8s.platform needs ansible-core >= 2.19.0")
    assert f"this is ansible-core {version}." in problem


def test_a_runtime_yml_without_requires_ansible_refuses_nothing(tmp_path):
    runtime = tmp_path / "runtime.yml"
    runtime.write_text("---\nplugin_routing: {}\n")
    assert core_version.minimum_core(runtime) is None
    assert core_version.minimum_core(tmp_path / "missing.yml") is None


@pytest.mark.skipif(not (OLD_CORE_VENV / "bin" / "ansible-playbook").exists(),
                    reason=f"no ansible-core 2.18 virtualenv at {OLD_CORE_VENV} (tests/scripts/contract.sh makes it)")
def test_ansible_core_2_18_is_refused_by_the_first_task_of_ours(tmp_path):
    version = subprocess.run([OLD_CORE_VENV / "bin" / "python", "-c", "import ansible.release as r; print(r.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version.startswith("2.18.")
    collections = [str(REPO / ".collections")]
    tree = REPO / ".work" / "kubernetes.core" / "6.2.0"
    if tree.is_dir():  # module_defaults name kubernetes.core's action group
        collections.append(str(tree))
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(collections),
           "PATH": f"{OLD_CORE_VENV / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env.pop("KUBECONFIG", None)
    run = subprocess.run([OLD_CORE_VENV / "bin" / "ansible-playbook", "-i", "inventories/local",
                          "playbooks/render.yml", "-e", f"airflow_render_dir={tmp_path / 'render'}"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert f"airflow_k8s.platform needs ansible-core >= 2.19.0 (meta/runtime.yml requires_ansible); this is " \
           f"ansible-core {version}." in out, out
    assert "AttributeError" not in out and "Traceback" not in out, out
