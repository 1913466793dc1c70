"""Day-2 checks: one task that runs through an operation (a secret rotation, an upgrade) and must succeed on try 1.

Trigger it with conf {"seconds": N} to choose how long it runs (default 120); it prints its progress every 10 s.
"""

from __future__ import annotations

import time

import pendulum

from airflow.sdk import Param, dag, task


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["airflow-k8s", "day2"],
    params={"seconds": Param(120, type="integer", minimum=1)},
)
def day2_long_task():
    @task
    def long_task(params=None) -> int:
        seconds = int(params["seconds"])
        for elapsed in range(0, seconds, 10):
            print(f"still running after {elapsed}s of {seconds}s")
            time.sleep(min(10, seconds - elapsed))
        return seconds

    long_task()


day2_long_task()
