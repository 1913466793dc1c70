# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The Postgres major version an image reference names, read from its tag."""

from __future__ import annotations

import re

# The tag starts with the major: "15", "15.20", "16-alpine", "15.20-94c83d94", "17rc1".
# Before 10 a major had two parts ("9.6.24" is major 9.6).
_LEADING = re.compile(r"^(?P<major>[0-9]+)(?:\.(?P<minor>[0-9]+))?")


def postgres_major(image: str) -> str:
    """Return the major version named by the tag of ``image``, or "" when the tag does not start with one.

    The tag is the part after the last ":" of the last path segment, before any "@sha256:" digest. A reference
    without a tag, or with a tag such as "latest" or "bookworm", names no major: the caller decides (airflow_db
    asks for airflow_db_postgres_major then).
    """
    if not isinstance(image, str) or not image:
        raise ValueError("postgres_major needs an image reference, a non-empty string")
    reference = image.split("@", 1)[0]
    last_segment = reference.rsplit("/", 1)[-1]
    if ":" not in last_segment:
        return ""
    tag = last_segment.rsplit(":", 1)[1]
    match = _LEADING.match(tag)
    if not match:
        return ""
    major = int(match.group("major"))
    if major < 10 and match.group("minor") is not None:
        return f"{major}.{int(match.group('minor'))}"
    return str(major)


class FilterModule:
    """Postgres image filters."""

    def filters(self):
        return {"postgres_major": postgres_major}
