"""Three tasks, each in its own worker pod; `transform` overrides its pod (label and resources)."""

from __future__ import annotations

import pendulum
from kubernetes.client import models as k8s

from airflow.sdk import dag, task

OVERRIDE = {
    "pod_override": k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(labels={"airflow-k8s.io/pod-override": "transform"}),
        spec=k8s.V1PodSpec(
            containers=[
                k8s.V1Container(
                    name="base",
                    resources=k8s.V1ResourceRequirements(
                        requests={"cpu": "50m", "memory": "300Mi"},
                        limits={"memory": "700Mi"},
                    ),
                )
            ]
        ),
    )
}


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["airflow-k8s", "example"],
)
def example_kubernetes_executor():
    @task
    def extract() -> list[int]:
        return [1, 2, 3, 4]

    @task(executor_config=OVERRIDE)
    def transform(values: list[int]) -> int:
        return sum(values)

    @task
    def load(total: int) -> None:
        print(f"total={total}")
        if total != 10:
            raise ValueError(f"expected 10, got {total}")

    load(transform(extract()))


example_kubernetes_executor()
