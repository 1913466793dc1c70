"""Seeded into the test repository: remote logging's test DAG (extensions/molecule/shared/verify_remote_logs.yml).
Its one task fails on its first try and succeeds on its second, so the run leaves two tries, each of which must be one
object in the S3 bucket and readable through the REST API after the worker pods and the local log files are gone."""

from __future__ import annotations

from datetime import timedelta

import pendulum

from airflow.sdk import dag, get_current_context, task


@dag(
    dag_id="remote_logs_retry",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["airflow-k8s", "remote-logging"],
)
def remote_logs_retry():
    @task(retries=1, retry_delay=timedelta(seconds=1))
    def flaky() -> int:
        ti = get_current_context()["ti"]
        print(f"remote-logs-marker run_id={ti.run_id} try={ti.try_number}")
        if ti.try_number == 1:
            raise RuntimeError("remote-logs-marker: the first try fails on purpose")
        return ti.try_number

    flaky()


remote_logs_retry()
