"""Run the collection's playbooks the way CI does: venv binaries, the repository's ansible.cfg, no colour."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RENDER_PLAYBOOK = "playbooks/render.yml"
INVENTORIES = ("local", "staging", "production")
# The example vault password the sample inventories' ansible-vault files are encrypted with. It lives beside the
# inventory folders, not in one: an inventory folder holds inventory files only, so that it works without our
# ansible.cfg (a password file inside it would be parsed as an inventory source).
VAULT_PASSWORD_FILE = REPO / "inventories" / "vault-password.example"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def ansible_bin(name: str) -> str:
    """The venv's tool next to the running interpreter, else the one on PATH."""
    sibling = Path(sys.executable).with_name(name)
    if sibling.exists():
        return str(sibling)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} is neither next to {sys.executable} nor on PATH")
    return found


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def inventory_dir(name: str) -> Path:
    return REPO / "inventories" / name


def vault_password_file(inventory: str) -> Path | None:
    """The example vault password file for an inventory that uses ansible-vault (None otherwise or if missing)."""
    if uses_vault(inventory) and VAULT_PASSWORD_FILE.is_file():
        return VAULT_PASSWORD_FILE
    return None


def uses_vault(inventory: str) -> bool:
    """True when any file of the inventory holds ansible-vault data (whole file or inline !vault)."""
    folder = inventory_dir(inventory)
    if not folder.is_dir():
        return False
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".yml", ".yaml", "") and path.stat().st_size < 2_000_000:
            text = path.read_text(errors="replace")
            if "$ANSIBLE_VAULT;" in text:
                return True
    return False


@dataclass(frozen=True)
class RunResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.strip().splitlines()[-lines:])

    def describe(self) -> str:
        return f"$ {' '.join(self.args)}\n(exit {self.returncode} after {self.seconds:.1f} s)\n{self.tail()}"


def run_playbook(
    playbook: str,
    inventory: str,
    *,
    render_dir: Path | None = None,
    extra_vars: dict[str, Any] | None = None,
    extra_args: list[str] | None = None,
    env: dict[str, str | None] | None = None,
    timeout: float = 600,
) -> RunResult:
    """ansible-playbook -i inventories/<inventory> <playbook> [-e airflow_render_dir=DIR] [-e @vars.json].

    env: variables to set (None: to remove) over the usual environment."""
    args = [ansible_bin("ansible-playbook"), "-i", f"inventories/{inventory}", playbook]
    password = vault_password_file(inventory)
    if password:
        args += ["--vault-password-file", str(password.relative_to(REPO))]
    if render_dir is not None:
        args += ["-e", f"airflow_render_dir={render_dir}"]
    vars_file = None
    if extra_vars is not None:
        handle = tempfile.NamedTemporaryFile("w", suffix=".json", prefix="extra-vars-", delete=False)
        with handle:
            json.dump(extra_vars, handle)
        vars_file = Path(handle.name)
        args += ["-e", f"@{vars_file}"]
    args += extra_args or []
    run_env = ansible_env()
    for key, value in (env or {}).items():
        if value is None:
            run_env.pop(key, None)
        else:
            run_env[key] = value
    started = time.monotonic()
    try:
        proc = subprocess.run(
            args, cwd=REPO, env=run_env, capture_output=True, text=True, timeout=timeout, check=False
        )
        return RunResult(args, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return RunResult(args, -1, out, err + f"\nTIMEOUT after {timeout} s", time.monotonic() - started)
    finally:
        if vars_file:
            vars_file.unlink(missing_ok=True)


def inventory_list(inventory: str, timeout: float = 120) -> RunResult:
    """ansible-inventory --list (vault values decrypted with the inventory's example password file)."""
    args = [ansible_bin("ansible-inventory"), "-i", f"inventories/{inventory}", "--list"]
    password = vault_password_file(inventory)
    if password:
        args += ["--vault-password-file", str(password.relative_to(REPO))]
    started = time.monotonic()
    proc = subprocess.run(args, cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=timeout, check=False)
    return RunResult(args, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def manifest_files(render_dir: Path) -> list[Path]:
    """Files a render wrote (anything that looks like a manifest), sorted."""
    if not render_dir.is_dir():
        return []
    return sorted(p for p in render_dir.rglob("*") if p.is_file() and p.suffix in MANIFEST_SUFFIXES)
