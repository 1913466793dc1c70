"""One trivial task: the smallest proof that a worker pod runs and reports back."""

from __future__ import annotations

import pendulum

from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["airflow-k8s", "smoke"])
def smoke_trivial():
    @task
    def hello() -> str:
        return "hello from a worker pod"

    hello()


smoke_trivial()
