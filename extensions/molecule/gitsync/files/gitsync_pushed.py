"""Pushed to the test repository while Airflow runs (extensions/molecule/gitsync verify.yml). The task lasts long
enough for the test to look at its worker pod and the git-sync init container that fetched this file."""

from __future__ import annotations

import os
import time

import pendulum

from airflow.sdk import dag, task


@dag(
    dag_id="gitsync_pushed",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["airflow-k8s", "gitsync"],
)
def gitsync_pushed():
    @task
    def synced_commit() -> str:
        """The commit this file was checked out from: <root>/<link> -> .worktrees/<commit>."""
        parts = os.path.realpath(__file__).split(os.sep)
        commit = parts[parts.index(".worktrees") + 1]
        print(f"running {__file__} from commit {commit}")
        time.sleep(40)
        return commit

    synced_commit()


gitsync_pushed()
