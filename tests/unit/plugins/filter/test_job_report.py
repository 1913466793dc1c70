"""job_report: the one reading of a Job that did not complete, used by the migration, rotation, backup, restore and
external preflight tasks."""

from __future__ import annotations

from ansible_collections.airflow_k8s.platform.plugins.filter.job_report import job_report


def _job(*conditions, succeeded=0):
    return {"metadata": {"name": "j"}, "status": {"succeeded": succeeded, "conditions": [
        {"type": t, "status": "True", "message": m} for t, m in conditions]}}


def test_absent_job():
    report = job_report([])
    assert report["state"] == "absent"
    assert report["text"] == "does not exist. Last log lines: (no log)."


def test_complete_job_has_no_log_part():
    report = job_report([_job(("Complete", ""), succeeded=1)], log_lines=["done"])
    assert report["state"] == "complete"
    assert report["text"] == "completed."


def test_failed_job_gives_the_condition_the_error_line_and_the_tail():
    log = ["INFO starting", "", "Traceback (most recent call last):", '  File "x.py", line 1',
           "psycopg2.OperationalError: connection to server failed", "airflow_db backup: pg_dump failed"]
    report = job_report(_job(("Failed", "Job has reached the specified backoff limit")), log_lines=log, tail=2)
    assert report["state"] == "failed"
    assert report["outcome"] == "failed: Job has reached the specified backoff limit"
    assert report["errors"] == ["psycopg2.OperationalError: connection to server failed",
                                "airflow_db backup: pg_dump failed"]
    assert report["tail"] == ["psycopg2.OperationalError: connection to server failed",
                              "airflow_db backup: pg_dump failed"]
    assert report["text"].startswith("failed: Job has reached the specified backoff limit. Error: airflow_db backup:")
    assert report["text"].endswith("Last log lines: psycopg2.OperationalError: connection to server failed | "
                                   "airflow_db backup: pg_dump failed.")


def test_unfinished_job_names_the_time_limit_and_the_waiting_reason():
    pods = [{"status": {"containerStatuses": [{"state": {"waiting": {"reason": "ImagePullBackOff"}}}]}},
            {"status": {"initContainerStatuses": [{"state": {"waiting": {"reason": "ImagePullBackOff"}}}],
                        "containerStatuses": [{"state": {"waiting": {"reason": "PodInitializing"}}}]}}]
    report = job_report(_job(), pods=pods, time_limit="600 s (airflow_core_migration.timeout)")
    assert report["state"] == "unfinished"
    assert report["waiting"] == "ImagePullBackOff, PodInitializing"
    assert report["text"] == ("did not complete within 600 s (airflow_core_migration.timeout). Container waiting: "
                              "ImagePullBackOff, PodInitializing. Last log lines: (no log).")


def test_a_container_killed_for_memory_is_named():
    pods = [{"status": {"containerStatuses": [
        {"state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}},
        {"state": {"terminated": {"reason": "Completed", "exitCode": 0}}}]}}]
    report = job_report(_job(("FailureTarget", "")), pods=pods)
    assert report["state"] == "failed"
    assert report["outcome"] == "failed: no reason given"
    assert report["terminated"] == "OOMKilled (exit 137)"
    assert "Container ended: OOMKilled (exit 137)." in report["text"]


def test_a_pod_no_node_could_take_is_named():
    pods = [{"status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/1 nodes are available: 1 Insufficient cpu."}]}}]
    report = job_report(_job(), pods=pods, time_limit="600 s (airflow_core_migration.timeout)")
    assert report["unscheduled"] == "0/1 nodes are available: 1 Insufficient cpu."
    assert report["text"] == ("did not complete within 600 s (airflow_core_migration.timeout). Pod not scheduled: "
                              "0/1 nodes are available: 1 Insufficient cpu. Last log lines: (no log).")
