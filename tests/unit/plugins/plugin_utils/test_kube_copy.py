# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The copy onto a pod that kube_copy makes in ansible-playbook's process (plugins/plugin_utils/kube_local.py):
which pod it goes through, the archive it sends, and how it reads the end of tar in the pod.

The copy itself runs against a cluster in every converge with a local DAG folder (the DAG copy of
roles/airflow_core/tasks/dags.yml: make up, the Molecule scenarios, the benchmarks).
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

_COLLECTIONS = Path(__file__).resolve().parents[4] / ".collections"
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402

from ansible_collections.airflow_k8s.platform.plugins.module_utils import kube_copy_spec as spec  # noqa: E402
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import kube_local  # noqa: E402


def _pod(name, phase="Running", ready=True, deleting=False, container="dag-processor"):
    meta = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-07T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase, "containerStatuses": [{"name": container, "ready": ready}]}}


def test_the_pod_is_running_not_terminating_and_ready_first():
    pods = [_pod("a", phase="Pending"), _pod("b", deleting=True), _pod("c", ready=False), _pod("d")]
    assert kube_local.pick_pod(pods, "dag-processor")["metadata"]["name"] == "d"
    # a running pod whose container is not ready yet still serves when it is the only one
    assert kube_local.pick_pod(pods[:3], "dag-processor")["metadata"]["name"] == "c"
    assert kube_local.pick_pod(pods[:2], "dag-processor") is None
    assert kube_local.pick_pod([], None) is None


def test_the_archive_holds_the_folder_entries_under_the_remote_path(tmp_path):
    (tmp_path / "dag.py").write_text("print(1)\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.py").write_text("x = 2\n")
    (tmp_path / "link.py").symlink_to("dag.py")
    buffer = io.BytesIO()
    kube_local.write_archive(str(tmp_path), "/opt/airflow/dags/", buffer)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == ["opt/airflow/dags/dag.py", "opt/airflow/dags/link.py", "opt/airflow/dags/sub",
                                   "opt/airflow/dags/sub/other.py"]
        # not the folder itself: tar in the pod leaves the mode of the volume's mount point alone
        assert "opt/airflow/dags" not in members
        assert members["opt/airflow/dags/link.py"].issym()
        assert tar.extractfile("opt/airflow/dags/sub/other.py").read() == b"x = 2\n"
    assert kube_local.tar_command("/opt/airflow/dags") == ["tar", "-xmf", "-", "-C", "/"]


def test_exec_status_reads_success_and_the_exit_code():
    assert kube_local.exec_status('{"metadata":{},"status":"Success"}') == (0, "")
    failed = {"status": "Failure", "message": "command terminated with non-zero exit code: exit 2",
              "details": {"causes": [{"reason": "ExitCode", "message": "2"}]}}
    assert kube_local.exec_status(json.dumps(failed)) == (2, failed["message"])
    assert kube_local.exec_status("") == (None, "")


class _Exec:
    """A WSClient as kubernetes.stream returns it with _preload_content=False, for one command."""

    def __init__(self, status, stderr="", ends=True, v5=True):
        self.written, self.closed_channels, self._open = [], [], True
        self._status, self._stderr, self._ends = status, stderr, ends
        if not v5:
            self.close_channel = None

    def write_stdin(self, data):
        self.written.append(data)

    def close_channel(self, channel):
        self.closed_channels.append(channel)

    def is_open(self):
        return self._open

    def update(self, timeout=0):
        if self._ends:
            self._open = False

    def read_channel(self, channel, timeout=0):
        return {kube_local.STDERR_CHANNEL: self._stderr, kube_local.ERROR_CHANNEL: self._status}.get(channel, "")


def test_feed_exec_writes_closes_stdin_and_waits_for_the_exit_code():
    response = _Exec('{"status":"Success"}')
    assert kube_local.feed_exec(response, [b"a", b"b"], timeout=5) == (0, "")
    assert response.written == [b"a", b"b"] and response.closed_channels == [0]


def test_feed_exec_reports_tar_errors_and_a_command_that_does_not_end():
    failed = json.dumps({"status": "Failure", "message": "exit code 2",
                         "details": {"causes": [{"reason": "ExitCode", "message": "2"}]}})
    code, why = kube_local.feed_exec(_Exec(failed, stderr="tar: cannot open\n"), [b"a"], timeout=5)
    assert code == 2 and why == "tar: cannot open; exit code 2"
    assert kube_local.feed_exec(_Exec("", ends=False), [b"a"], timeout=0.01)[0] is None


def _validate(args):
    return ArgumentSpecValidator(spec.ARGUMENT_SPEC, mutually_exclusive=spec.MUTUALLY_EXCLUSIVE,
                                 required_one_of=spec.REQUIRED_ONE_OF).validate(args)


@pytest.mark.parametrize("pick,ok", [({"pod": "p"}, True), ({"label_selectors": ["a=b"]}, True),
                                      ({}, False), ({"pod": "p", "label_selectors": ["a=b"]}, False)])
def test_the_pod_is_named_or_selected(pick, ok):
    errors = _validate({"namespace": "n", "local_path": "/tmp", "remote_path": "/x", **pick}).error_messages
    assert (errors == []) is ok
