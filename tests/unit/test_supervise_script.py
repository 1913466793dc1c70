# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""airflow_core's supervise script (vars/main.yml, _airflow_core_supervise_script), run as the components run it
(python -c <script> <command>) with a real child process and a real TCP listener standing for the database: the
component is started again in place only when it exits after the database stopped answering; any other exit is the
container's, with the component's code; a signal reaches the component once. The default scenario's Postgres
restart drill checks the same on the cluster (no container restart by the kubelet)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = yaml.safe_load((ROOT / "roles/airflow_core/vars/main.yml").read_text())["_airflow_core_supervise_script"]
SECRET = "s3cret-Passw0rd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listen(port: int, after: float, for_seconds: float) -> threading.Thread:
    """A TCP listener on port from `after` seconds from now, for `for_seconds`: the database answering."""
    def serve() -> None:
        time.sleep(after)
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            s.listen(64)
            s.settimeout(0.2)
            end = time.monotonic() + for_seconds
            while time.monotonic() < end:
                try:
                    s.accept()[0].close()
                except OSError:
                    pass
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def _supervise(child: str, port: int | None, tmp_path: Path, url: str | None = None, **kwargs) -> subprocess.Popen:
    """The script as a component's container runs it; the database at 127.0.0.1:port, else at url (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"}
    if port is not None:
        url = f"postgresql+psycopg://airflow:{SECRET}@127.0.0.1:{port}/airflow"
    if url is not None:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = url
    env["RUNS"] = str(tmp_path / "runs")
    return subprocess.Popen([sys.executable, "-c", SCRIPT, sys.executable, "-c", child], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


# The child counts its runs in a file, then exits with code 3 after `pause` seconds
CHILD = "import os, sys, time\nopen(os.environ['RUNS'], 'a').write('run\\n')\ntime.sleep({pause})\nsys.exit(3)"


def _runs(tmp_path: Path) -> int:
    path = tmp_path / "runs"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_started_again_after_the_database_stopped_answering(tmp_path: Path) -> None:
    """Nothing answers during the first run (the database is down); it answers from 5 s on: the child is started
    again, and its second exit, with the database answering throughout, ends the script with the child's code."""
    port = _free_port()
    _listen(port, after=5, for_seconds=30)
    proc = _supervise(CHILD.format(pause=3), port, tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert _runs(tmp_path) == 2, err
    assert "after the database stopped answering" in err and "the database answers: starting it again" in err, err
    assert SECRET not in out + err


def test_an_exit_while_the_database_answers_is_the_containers(tmp_path: Path) -> None:
    port = _free_port()
    _listen(port, after=0, for_seconds=30)
    time.sleep(0.5)
    proc = _supervise(CHILD.format(pause=3), port, tmp_path)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, _runs(tmp_path)) == (3, 1), err
    assert "starting it again" not in err


@pytest.mark.parametrize("url", [None, "not a url", "postgresql://u:p@db:notaport/airflow"])
def test_without_the_database_address_every_exit_is_the_containers(tmp_path: Path, url: str | None) -> None:
    """No address to try (the variable unset, or a value without a host or with a bad port): no restart in place."""
    proc = _supervise(CHILD.format(pause=0), None, tmp_path, url=url)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, _runs(tmp_path)) == (3, 1), err


def test_a_success_ends_the_container(tmp_path: Path) -> None:
    proc = _supervise("import sys; sys.exit(0)", _free_port(), tmp_path)
    assert proc.wait(timeout=30) == 0


@pytest.mark.parametrize("group", [False, True], ids=["to-the-script", "to-its-process-group"])
def test_a_signal_reaches_the_component_once(tmp_path: Path, group: bool) -> None:
    """SIGTERM to the script (kubectl delete; dumb-init sends it to the script's process group): the component gets
    it once, shuts down, and its exit code ends the container, the database down or not."""
    # The component takes a second to shut down: a second SIGTERM meanwhile would print TERM again
    child = ("import signal, sys, time\ngot = []\n"
             "def term(*_):\n    print('TERM', flush=True)\n    got.append(1)\n"
             "signal.signal(signal.SIGTERM, term)\nprint('up', flush=True)\n"
             "while not got:\n    time.sleep(0.05)\ntime.sleep(1)\nsys.exit(0)")
    proc = _supervise(child, _free_port(), tmp_path, start_new_session=True)
    assert proc.stdout.readline().strip() == "up"
    if group:
        os.killpg(proc.pid, signal.SIGTERM)
    else:
        proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.split() == ["TERM"], (out, err)
