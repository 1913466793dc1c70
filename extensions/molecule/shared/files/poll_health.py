#!/usr/bin/env python3
"""Poll Airflow's /api/v2/monitor/health once a second and write one JSON line per answer.

Started in the background before an operation that must not interrupt the service (an upgrade), it runs until
the stop file exists or the deadline passes. Each line: the time (epoch seconds), the HTTP status (0 when no
answer: refused, reset, timeout) and, on an answer, the metadatabase and scheduler statuses. It reads no
secret: the health endpoint needs no sign-in.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.error
import urllib.request


def poll(url: str, timeout: float) -> dict:
    entry: dict = {"t": round(time.time(), 3)}
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (a URL the caller gives)
            body = json.loads(response.read() or b"{}")
            entry["status"] = response.status
    except urllib.error.HTTPError as exc:
        entry["status"] = exc.code
        body = {}
    except (urllib.error.URLError, OSError, ValueError) as exc:
        entry["status"] = 0
        entry["error"] = " ".join(str(getattr(exc, "reason", exc)).split())[:200]
        body = {}
    for part in ("metadatabase", "scheduler"):
        if isinstance(body.get(part), dict):
            entry[part] = body[part].get("status")
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--deadline", type=float, default=3600, help="seconds")
    parser.add_argument("--timeout", type=float, default=5, help="seconds per request")
    args = parser.parse_args()
    end = time.monotonic() + args.deadline
    with open(args.out, "a", encoding="utf-8") as out:
        while time.monotonic() < end and not os.path.exists(args.stop_file):
            started = time.monotonic()
            out.write(json.dumps(poll(args.url, args.timeout)) + "\n")
            out.flush()
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
