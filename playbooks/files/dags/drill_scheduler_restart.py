"""Fault drill: a task long enough to delete the scheduler while its worker pod runs, then one more task.

The new scheduler must adopt the running worker pod, see it finish and schedule `after`. The run's conf may set
`seconds` (default 75): the upgrade drill runs it through a whole upgrade.
"""

from __future__ import annotations

import time

import pendulum

from airflow.sdk import dag, task


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["airflow-k8s", "drill"],
    params={"seconds": 75},
)
def drill_scheduler_restart():
    @task
    def long_running(params=None) -> int:
        seconds = int(params["seconds"])
        for elapsed in range(0, seconds, 15):
            print(f"still running after {elapsed}s")
            time.sleep(15)
        return seconds

    @task
    def after(seconds: int) -> None:
        print(f"long_running slept {seconds}s; scheduled after the scheduler restart")

    after(long_running())


drill_scheduler_restart()
