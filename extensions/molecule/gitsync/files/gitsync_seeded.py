"""Seeded into the test repository before Airflow starts: parsed by the dag-processor from its git-sync
sidecar's checkout, run in a worker pod whose git-sync init container cloned the repository."""

from __future__ import annotations

import os

import pendulum

from airflow.sdk import dag, task


@dag(
    dag_id="gitsync_seeded",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["airflow-k8s", "gitsync"],
)
def gitsync_seeded():
    @task
    def synced_commit() -> str:
        """The commit this file was checked out from: <root>/<link> -> .worktrees/<commit>."""
        parts = os.path.realpath(__file__).split(os.sep)
        commit = parts[parts.index(".worktrees") + 1]
        print(f"running {__file__} from commit {commit}")
        return commit

    synced_commit()


gitsync_seeded()
