#!/usr/bin/env python3
"""Watch the KubernetesExecutor's worker pods of one DAG run and report what was seen, as JSON.

Started before the run is triggered (the run id is chosen by the caller), it lists and then watches pods
with the executor's labels (kubernetes_executor=True, dag_id=<dag>) and keeps those whose `run_id`
annotation is the run's. For every pod it records the task, the try, each phase it was seen in (a watch
sees every change, so a short task cannot slip between two polls), its labels and the resources of its
`base` container, and whether the pod was deleted. It stops when every expected task has had a pod and
no pod of the run is left, or at the timeout. It prints no environment and reads no Secret.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException


def record(pods: dict, pod, deleted: bool = False) -> None:
    meta = pod.metadata
    annotations = meta.annotations or {}
    entry = pods.setdefault(
        meta.name,
        {"task_id": annotations.get("task_id"), "try_number": annotations.get("try_number"), "phases": [], "deleted": False},
    )
    phase = pod.status.phase if pod.status else None
    if phase and (not entry["phases"] or entry["phases"][-1] != phase):
        entry["phases"].append(phase)
    entry["labels"] = dict(meta.labels or {})
    base = [c for c in pod.spec.containers if c.name == "base"]
    if base and base[0].resources:
        entry["resources"] = {"requests": base[0].resources.requests or {}, "limits": base[0].resources.limits or {}}
    entry["deleted"] = entry["deleted"] or deleted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--dag-id", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--tasks", required=True, help="comma-separated task ids expected to run")
    parser.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args()

    config.load_kube_config(config_file=args.kubeconfig)
    core = client.CoreV1Api()
    selector = f"kubernetes_executor=True,dag_id={args.dag_id}"
    expected = set(args.tasks.split(","))
    pods: dict[str, dict] = {}
    deadline = time.monotonic() + args.timeout

    def ours(pod) -> bool:
        return (pod.metadata.annotations or {}).get("run_id") == args.run_id

    def done() -> bool:
        seen_tasks = {p["task_id"] for p in pods.values()}
        return expected <= seen_tasks and all(p["deleted"] for p in pods.values())

    timed_out = False
    while not done():
        if time.monotonic() > deadline:
            timed_out = True
            break
        listing = core.list_namespaced_pod(args.namespace, label_selector=selector)
        present = set()
        for pod in listing.items:
            if ours(pod):
                record(pods, pod)
                present.add(pod.metadata.name)
        for name, entry in pods.items():
            if name not in present:
                entry["deleted"] = True
        if done():
            break
        stream = watch.Watch()
        try:
            for event in stream.stream(
                core.list_namespaced_pod,
                args.namespace,
                label_selector=selector,
                resource_version=listing.metadata.resource_version,
                timeout_seconds=30,
            ):
                pod = event["object"]
                if ours(pod):
                    record(pods, pod, deleted=event["type"] == "DELETED")
                if done() or time.monotonic() > deadline:
                    stream.stop()
                    break
        except ApiException as exc:  # 410 Gone: list again from a fresh resourceVersion
            if exc.status != 410:
                raise

    json.dump({"timed_out": timed_out, "pods": pods}, sys.stdout, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
