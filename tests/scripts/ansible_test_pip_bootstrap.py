"""Offline stand-in for the pip bootstrap script that ansible-test downloads from its CI file server.

ansible-test creates an empty virtual environment per sanity test and runs
`python <bootstrap> <pip options> pip==X ...` to put pip into it. That server is not reachable from the
machines this project is tested on (only package registries are), so tests/scripts/sanity.sh puts this script in
ansible-test's cache instead. It installs pip with the standard library's ensurepip, then lets that pip
install the exact packages ansible-test asked for from PyPI.
"""

from __future__ import annotations

import subprocess
import sys


def main(argv: list[str]) -> int:
    subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True, stdout=subprocess.DEVNULL)
    options = [arg for arg in argv if arg not in ("--no-setuptools", "--no-wheel")]
    return subprocess.run([sys.executable, "-m", "pip", "install", *options], check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
