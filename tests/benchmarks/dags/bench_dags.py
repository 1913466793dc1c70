"""DAGs of the benchmark harness (tests/benchmarks/run.py): one trivial task, and one DAG of N trivial mapped tasks."""

from __future__ import annotations

import pendulum

from airflow.sdk import dag, task

START = pendulum.datetime(2026, 1, 1, tz="UTC")


@dag(dag_id="bench_trivial", schedule=None, start_date=START, catchup=False, max_active_runs=1, tags=["benchmark"])
def bench_trivial():
    @task
    def noop() -> None:
        return None

    noop()


bench_trivial()


def _mapped(count: int):
    @dag(dag_id=f"bench_mapped_{count}", schedule=None, start_date=START, catchup=False, tags=["benchmark"])
    def bench_mapped():
        @task
        def noop(i: int) -> None:
            return None

        noop.expand(i=list(range(count)))

    return bench_mapped()


# 100 for the measurement, 3 for the smoke run (tests/benchmarks/run.py --smoke)
for _count in (3, 100):
    _mapped(_count)
