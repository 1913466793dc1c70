"""The backup and restore entry points of airflow_db, rendered without a cluster (playbooks/backup.yml and
playbooks/restore.yml with airflow_render_dir): the claim and Job shapes, Pod Security restricted, the labels the
NetworkPolicies need, the names from object_names, the external-database warning; and the Postgres major version
recorded on the data claim. The live drill is extensions/molecule/day2/backup_drill.yml.
"""

from __future__ import annotations

import importlib.util
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from lib import pss
from lib.ansible_run import REPO, RunResult, manifest_files, run_playbook
from lib.manifests import container, load_documents, name, of_kind

_SPEC = importlib.util.spec_from_file_location("airflow_k8s_object_names", REPO / "plugins" / "filter" / "object_names.py")
assert _SPEC and _SPEC.loader
_NAMES = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_NAMES)
NAMES = _NAMES.object_names("airflow")

EXTERNAL = {
    "airflow_db_mode": "external",
    "airflow_db_external_host": "airflow.cluster-abc.eu-west-1.rds.amazonaws.com",
    "airflow_db_external_password": "correct-horse-battery-staple",
    "airflow_db_sslmode": "require",
}
# The inventory reads POSTGRES_IMAGE; the tests want its default, postgres:15.
ENV = {"POSTGRES_IMAGE": None}

RUNS: dict[str, tuple[str, dict[str, Any]]] = {
    "backup": ("playbooks/backup.yml", {"airflow_db_backup_reason": "upgrade-3.1.0-to-3.2.0"}),
    "external-off": ("playbooks/backup.yml", EXTERNAL),
    "external-on": ("playbooks/backup.yml", {**EXTERNAL, "airflow_db_backup_external": True}),
    "restore": ("playbooks/restore.yml", {"airflow_db_restore_dump": "20261206T040102Z-manual.dump"}),
    "restore-external": ("playbooks/restore.yml", {**EXTERNAL, "airflow_db_restore_dump": "20261206T040102Z-manual.dump"}),
    "backup-bad-reason": ("playbooks/backup.yml", {"airflow_db_backup_reason": "before upgrade!"}),
}


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[RunResult, list[dict[str, Any]], Path]]:
    def one(key: str) -> tuple[str, tuple[RunResult, list[dict[str, Any]], Path]]:
        folder = tmp_path_factory.mktemp(key)
        playbook, extra = RUNS[key]
        result = run_playbook(playbook, "local", render_dir=folder, extra_vars=extra, env=ENV)
        objects = [d.obj for d in load_documents(manifest_files(folder))]
        return key, (result, objects, folder)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(one, RUNS))


def _job(objects: list[dict[str, Any]]) -> dict[str, Any]:
    jobs = of_kind(objects, "Job")
    assert len(jobs) == 1, [name(j) for j in jobs]
    return jobs[0]


def test_backup_renders_the_claim_and_a_pg_dump_job(renders) -> None:
    result, objects, folder = renders["backup"]
    assert result.returncode == 0, result.describe()
    assert [p.name for p in manifest_files(folder)] == ["24-db-backup.yaml"]
    claims = of_kind(objects, "PersistentVolumeClaim")
    assert [name(c) for c in claims] == [NAMES["backup_claim"]]
    assert claims[0]["spec"]["resources"]["requests"]["storage"] == "8Gi"
    job = _job(objects)
    assert name(job).startswith("airflow-db-backup-") and len(name(job)) <= 63
    assert job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]
    # The NetworkPolicies let pods with the instance label and db-client reach Postgres.
    assert pod["metadata"]["labels"]["airflow-k8s.io/db-client"] == "true"
    assert pod["metadata"]["labels"]["app.kubernetes.io/instance"] == "airflow"
    main = container(pod["spec"], "pg-dump")
    assert main is not None and main["image"] == "postgres:15"
    assert "pg_dump --format=custom" in main["args"][-1]
    env = {e["name"]: e for e in main["env"]}
    assert env["DATABASE_URI"]["valueFrom"]["secretKeyRef"] == {"name": NAMES["db_connection_secret"], "key": "connection"}
    assert env["DUMP"]["value"].endswith("Z-upgrade-3.1.0-to-3.2.0.dump")
    assert env["KEEP"]["value"] == "5"
    assert job["metadata"]["annotations"]["airflow-k8s.io/backup-file"] == env["DUMP"]["value"]
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["backup"]["persistentVolumeClaim"]["claimName"] == NAMES["backup_claim"]
    assert not pss.check_objects(objects), pss.check_objects(objects)


def test_external_database_is_not_backed_up_without_the_option(renders) -> None:
    result, objects, _ = renders["external-off"]
    assert result.returncode == 0, result.describe()
    assert objects == []
    assert "WARNING: the external database airflow.cluster-abc.eu-west-1.rds.amazonaws.com/airflow was NOT backed up" in result.output


def test_external_database_is_backed_up_with_the_option(renders) -> None:
    result, objects, _ = renders["external-on"]
    assert result.returncode == 0, result.describe()
    assert "was NOT backed up" not in result.output
    job = _job(objects)
    assert "pg_dump --format=custom" in container(job["spec"]["template"]["spec"], "pg-dump")["args"][-1]
    assert not pss.check_objects(objects), pss.check_objects(objects)


def test_restore_renders_postgres_and_a_pg_restore_job(renders) -> None:
    result, objects, folder = renders["restore"]
    assert result.returncode == 0, result.describe()
    files = [p.name for p in manifest_files(folder)]
    assert "25-db-restore.yaml" in files and "21-db-postgres.yaml" in files, files
    assert not any(f.startswith("23-") for f in files), f"a restore runs no migration: {files}"
    job = _job(objects)
    assert name(job).startswith("airflow-db-restore-") and len(name(job)) <= 63
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"]["airflow-k8s.io/db-client"] == "true"
    main = container(pod["spec"], "pg-restore")
    script = main["args"][-1]
    assert "DROP DATABASE IF EXISTS" in script and "pg_restore" in script and "--exit-on-error" in script
    env = {e["name"]: e for e in main["env"]}
    assert env["DUMP"]["value"] == "20261206T040102Z-manual.dump"
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "airflow-postgres", "key": "password"}
    mounts = {m["name"]: m for m in main["volumeMounts"]}
    assert mounts["backup"]["readOnly"] is True
    assert not pss.check_objects(objects), pss.check_objects(objects)


def test_data_claim_records_the_postgres_major(renders) -> None:
    _, objects, _ = renders["restore"]
    claim = [c for c in of_kind(objects, "PersistentVolumeClaim") if name(c) == NAMES["postgres_data_claim"]]
    assert claim and claim[0]["metadata"]["labels"]["airflow-k8s.io/postgres-major"] == "15"


def test_restore_refuses_an_external_database(renders) -> None:
    result, objects, _ = renders["restore-external"]
    assert result.returncode != 0
    assert "airflow_db_mode=\"external\"" in result.output and "in-cluster Postgres only" in result.output
    assert not any(o["kind"] == "Job" for o in objects)


def test_backup_refuses_a_reason_that_is_not_a_slug(renders) -> None:
    result, objects, _ = renders["backup-bad-reason"]
    assert result.returncode != 0
    assert 'airflow_db_backup_reason="before upgrade!"' in result.output and "slug" in result.output
    assert objects == []
