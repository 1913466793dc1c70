# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""make test's last lines (tests/kind/lib.sh, stage_first_failures): for each failed stage, its first failed Ansible
task that was not ignored, or its first failed pytest test, in one line; passed stages and stages without an output
file print nothing. Run by bash against real output files laid out as make test leaves them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

MOLECULE = """\
TASK [Verify : Find the Postgres pod] ******************************************
ok: [localhost]

TASK [Verify : Optional probe] *************************************************
fatal: [localhost]: FAILED! => {"changed": false, "msg": "ignored one"}
...ignoring

TASK [Verify : Wait for the new run] *******************************************
FAILED - RETRYING: [localhost]: Wait for the new run (60 retries left).
\x1b[0;31mfatal: [localhost]: FAILED! => {"attempts": 60, "changed": false, "msg": "the real one"}\x1b[0m

TASK [Verify : A later failure] ************************************************
fatal: [localhost]: FAILED! => {"msg": "not the first"}

PLAY RECAP *********************************************************************
"""

PYTEST = """\
tests/cluster/test_smoke.py ..F.                                          [100%]
=========================== short test summary info ============================
FAILED tests/cluster/test_smoke.py::test_pvc_binds - AssertionError: empty log
FAILED tests/cluster/test_smoke.py::test_other - AssertionError: second
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "tests/kind").mkdir(parents=True)
    for name in ("lib.sh", "versions.env"):
        shutil.copy(ROOT / "tests/kind" / name, tmp_path / "tests/kind" / name)
    out = tmp_path / ".work/test-output"
    out.mkdir(parents=True)
    (out / "molecule-default.log").write_text(MOLECULE)
    (out / "cluster-smoke.log").write_text(PYTEST)
    (out / "molecule-nfs.log").write_text(MOLECULE)  # passed: not reported
    return tmp_path


def _first_failures(repo: Path) -> list[str]:
    script = """
set -euo pipefail
. tests/kind/lib.sh
STAGE_NAMES=(lint molecule-default "cluster-smoke (background)" molecule-nfs molecule-external_db)
STAGE_SECS=(1 2 3 4 5)
STAGE_RCS=(1 2 1 0 2)
stage_first_failures
"""
    result = subprocess.run(["bash", "-c", script], cwd=repo, capture_output=True, text=True, check=True)
    return result.stderr.splitlines()


def test_one_line_per_failed_stage_with_an_output(repo: Path) -> None:
    lines = _first_failures(repo)
    assert lines == [
        'molecule-default: TASK [Verify : Wait for the new run] fatal: [localhost]: FAILED! => '
        '{"attempts": 60, "changed": false, "msg": "the real one"}',
        "cluster-smoke: FAILED tests/cluster/test_smoke.py::test_pvc_binds - AssertionError: empty log",
    ]


def test_a_failure_on_the_last_line_is_reported(repo: Path) -> None:
    (repo / ".work/test-output/molecule-default.log").write_text(
        "TASK [Converge : Apply] ***\nfatal: [localhost]: FAILED! => {\"msg\": \"last\"}"
    )
    assert _first_failures(repo)[0] == 'molecule-default: TASK [Converge : Apply] fatal: [localhost]: FAILED! => {"msg": "last"}'


def test_long_errors_are_cut(repo: Path) -> None:
    (repo / ".work/test-output/molecule-default.log").write_text(
        "TASK [T] ***\nfatal: [localhost]: FAILED! => {\"msg\": \"" + "x" * 1000 + "\"}\n"
    )
    assert len(_first_failures(repo)[0]) == 400
