"""A configuration change reaches the pods: no --tags selection applies airflow.cfg, the worker pod template or the
generated Secrets without the components that carry their checksum (and the other way round).

airflow_core's rollout tags (_airflow_core_rollout_tags: airflow_core_migrate, airflow_core_config,
airflow_core_secrets, airflow_core_workloads) select or drop the Secrets and the checksum, the config phase, the components and the waits
together. Each tag combination below renders inventories/local (render.yml) and compares the phase files with a
full render: the three rollout files come all or none, and every file a selection writes is the full render's file
byte for byte (same checksum annotation, same airflow.cfg). One more render with a changed option shows the changed
airflow.cfg line and a new checksum on every Airflow component. The connection Secret of airflow_db is the other
checksum input: playbooks/database.yml refuses its change when the tags leave the rollout out (live check in
extensions/molecule/day2/config_rollout.yml); its flag uses the same tags, checked here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lib.ansible_run import REPO, RENDER_PLAYBOOK, manifest_files, run_playbook

ROLLOUT_FILES = {"30-core-secrets.yaml", "30-core-config.yaml", "31-core-workloads.yaml"}
AIRFLOW_COMPONENTS = ("scheduler", "api-server", "dag-processor", "triggerer")

# (arguments, whether the rollout files are written, files outside the rollout that must be written too)
COMBINATIONS = [
    ([], True, {"30-core-rbac.yaml", "32-core-network.yaml"}),
    (["--tags", "core"], True, {"30-core-rbac.yaml"}),
    (["--tags", "airflow_core_config"], True, set()),
    (["--tags", "airflow_core_secrets"], True, set()),
    (["--tags", "airflow_core_workloads"], True, set()),
    (["--tags", "airflow_core_config,airflow_core_network"], True, {"32-core-network.yaml"}),
    (["--tags", "airflow_core_rbac"], False, {"30-core-rbac.yaml"}),
    (["--tags", "airflow_core_network"], False, {"32-core-network.yaml"}),
    (["--tags", "airflow_core_dags"], False, set()),
    (["--tags", "db"], False, set()),
    (["--tags", "core", "--skip-tags", "airflow_core_config"], False, {"30-core-rbac.yaml"}),
    (["--skip-tags", "airflow_core_secrets"], False, {"30-core-rbac.yaml"}),
    (["--skip-tags", "airflow_core_workloads"], False, {"30-core-rbac.yaml"}),
]


def _render(folder: Path, *args: str, extra_vars: dict | None = None) -> dict[str, str]:
    result = run_playbook(RENDER_PLAYBOOK, "local", render_dir=folder, extra_vars=extra_vars,
                          extra_args=list(args), timeout=300)
    assert result.returncode == 0, result.describe()
    return {p.name: p.read_text() for p in manifest_files(folder)}


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _render(tmp_path_factory.mktemp("full"))


@pytest.mark.parametrize(("args", "rollout", "others"), COMBINATIONS, ids=[" ".join(c[0]) or "no-tags" for c in COMBINATIONS])
def test_tags_select_the_rollout_whole_or_not_at_all(full: dict[str, str], tmp_path: Path, args: list[str],
                                                      rollout: bool, others: set[str]) -> None:
    files = _render(tmp_path, *args)
    written = ROLLOUT_FILES & set(files)
    assert written == (ROLLOUT_FILES if rollout else set()), f"{args}: rollout files written: {sorted(written)}"
    assert others <= set(files), f"{args}: missing {sorted(others - set(files))}"
    for name, text in files.items():
        assert text == full[name], f"{args}: {name} differs from the full render's"


def _objects(text: str) -> list[dict]:
    return [o for o in yaml.safe_load_all(text) if o]


def _checksums(text: str) -> dict[str, str]:
    return {o["metadata"]["name"]: o["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            for o in _objects(text) if o["kind"] == "Deployment"
            and "checksum/config" in (o["spec"]["template"]["metadata"].get("annotations") or {})}


def test_a_changed_option_changes_airflow_cfg_and_every_checksum(full: dict[str, str], tmp_path: Path) -> None:
    inventory = yaml.safe_load((REPO / "inventories" / "local" / "group_vars" / "airflow" / "main.yml").read_text())
    config = {**inventory.get("airflow_core_config", {}), "core": {"parallelism": "48"}}  # -e replaces the dict
    files = _render(tmp_path, "--tags", "airflow_core_config", extra_vars={"airflow_core_config": config})
    config = {o["metadata"]["name"]: o for o in _objects(files["30-core-config.yaml"])}
    before = {o["metadata"]["name"]: o for o in _objects(full["30-core-config.yaml"])}
    cfg = next(name for name, o in config.items() if "airflow.cfg" in (o.get("data") or {}))
    changed = set(config[cfg]["data"]["airflow.cfg"].splitlines()) ^ set(before[cfg]["data"]["airflow.cfg"].splitlines())
    assert changed == {"parallelism = 64", "parallelism = 48"}, changed
    old, new = _checksums(full["31-core-workloads.yaml"]), _checksums(files["31-core-workloads.yaml"])
    components = {name for name in old if name.endswith(AIRFLOW_COMPONENTS)}
    assert len(components) == len(AIRFLOW_COMPONENTS), old
    assert {name for name in components if old[name] != new[name]} == components, (old, new)


def test_rollout_tags_are_written_the_same_everywhere() -> None:
    """Tags are static on imports: tasks/main.yml writes the rollout tags out, playbooks/database.yml too."""
    core = REPO / "roles" / "airflow_core"
    rollout = yaml.safe_load((core / "vars" / "main.yml").read_text())["_airflow_core_rollout_tags"]
    main = yaml.safe_load((core / "tasks" / "main.yml").read_text())
    for task in main:
        if task.get("ansible.builtin.import_tasks") in ("secrets.yml", "migrate.yml", "wait_db.yml", "wait.yml"):
            assert sorted(task["tags"]) == sorted(rollout), task
    wait_db = yaml.safe_load((core / "tasks" / "wait_db.yml").read_text())
    assert sorted(wait_db[0]["ansible.builtin.include_role"]["apply"]["tags"]) == sorted(rollout)
    database = yaml.safe_load((REPO / "playbooks" / "database.yml").read_text())
    assert sorted(database[0]["vars"]["_site_rollout_tags"]) == sorted(["core", *rollout])
    core_play = yaml.safe_load((REPO / "playbooks" / "core.yml").read_text())
    assert core_play[0]["roles"][0]["tags"] == ["core"]
    phases = yaml.safe_load((core / "vars" / "main.yml").read_text())["_airflow_core_phases"]
    for phase in phases:
        if phase["name"] in ("30-core-config", "31-core-workloads"):
            assert re.fullmatch(r"\{\{\s*_airflow_core_rollout_tags\s*\}\}", phase["tags"]), phase
