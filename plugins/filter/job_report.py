# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Why a Job did not complete, in words: one reading of a Job, its pods and its last pod's log for every Job the
roles start (the migration, the fernet key rotation, the backup and restore, the external database preflight)."""

from __future__ import annotations

import re

# Lines a reader looks for first: a Python exception's summary ("psycopg2.OperationalError: ..."), a Postgres
# FATAL, and the lines our own Job scripts print ("airflow_db backup: ...", "airflow_core migrate: ...").
_ERROR_LINE = re.compile(r"^[A-Za-z0-9_.]*(Error|Exception|Warning)[A-Za-z0-9_.]*: |FATAL|^airflow_[a-z]+ [a-z-]+: ")


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _conditions(job: dict) -> list:
    return [c for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"]


def job_report(job, pods=None, log_lines=None, time_limit: str = "", tail: int = 8) -> dict:
    """Read a Job (an object, or a list of them as kube_read/k8s_info return, of which the first counts), its pods
    and the log lines of its last pod. Returns a dict:

    state     absent, complete, failed or unfinished
    outcome   "does not exist", "completed", "failed: <the Failed condition's message>", "did not complete within
              <time_limit>"
    unscheduled  why the scheduler could not place a pod (its PodScheduled condition)
    waiting   the pods' containers' waiting reasons (ImagePullBackOff...), comma separated
    terminated  reasons and exit codes of containers that ended with an error (OOMKilled, exit 137)
    errors    the log's error lines (exception summaries, FATAL, our scripts' own messages)
    tail      the last ``tail`` non-empty log lines
    text      all of it in sentences, for a fail message: "<outcome>. Container waiting: ... Error: ... Last log lines:
              a | b"
    """
    if isinstance(job, list):
        job = job[0] if job else {}
    job = job or {}
    pods = pods or []
    lines = [str(line).strip() for line in (log_lines or []) if str(line).strip()]
    conditions = _conditions(job)
    types = {c.get("type") for c in conditions}
    if not job:
        state, outcome = "absent", "does not exist"
    elif "Complete" in types or (job.get("status") or {}).get("succeeded"):
        state, outcome = "complete", "completed"
    elif types & {"Failed", "FailureTarget"}:
        messages = [c.get("message") or c.get("reason") or "" for c in conditions
                    if c.get("type") in ("Failed", "FailureTarget")]
        state, outcome = "failed", "failed: " + (next((m for m in messages if m), "") or "no reason given")
    else:
        state = "unfinished"
        outcome = f"did not complete within {time_limit}" if time_limit else "did not complete"
    statuses = [s for pod in pods for s in ((pod.get("status") or {}).get("initContainerStatuses") or [])
                + ((pod.get("status") or {}).get("containerStatuses") or [])]
    waiting = sorted({(s.get("state") or {}).get("waiting", {}).get("reason", "") for s in statuses} - {""})
    terminated = sorted({
        f"{t.get('reason') or 'Error'} (exit {t.get('exitCode')})"
        for s in statuses
        for t in [((s.get("state") or {}).get("terminated") or (s.get("lastState") or {}).get("terminated") or {})]
        if t and t.get("exitCode") not in (None, 0)})
    # A pod the scheduler could not place ("0/3 nodes are available: 3 Insufficient cpu.") has no container yet.
    unscheduled = sorted({(c.get("message") or c.get("reason") or "").strip() for pod in pods
                          for c in (pod.get("status") or {}).get("conditions") or []
                          if c.get("type") == "PodScheduled" and c.get("status") == "False"} - {""})
    errors = [line for line in lines if _ERROR_LINE.search(line)]
    last = lines[-tail:] if tail > 0 else []
    text = [outcome + "."]
    if unscheduled:
        text.append(_sentence(f"Pod not scheduled: {' '.join(unscheduled)}"))
    if waiting:
        text.append(f"Container waiting: {', '.join(waiting)}.")
    if terminated:
        text.append(f"Container ended: {', '.join(terminated)}.")
    if errors:
        text.append(_sentence(f"Error: {errors[-1]}"))
    if state != "complete":
        text.append(_sentence("Last log lines: " + (" | ".join(last) if last else "(no log)")))
    return {"state": state, "outcome": outcome, "unscheduled": " ".join(unscheduled), "waiting": ", ".join(waiting), "terminated": ", ".join(terminated),
            "errors": errors, "tail": last, "text": " ".join(text)}


class FilterModule:
    """Job report filters."""

    def filters(self):
        return {"job_report": job_report}
