# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Test whether an airflow.cfg-style dictionary sets a given [section] key."""

from __future__ import annotations


def config_has(path, config) -> bool:
    """True when config (a dict of sections) sets path[1] in section path[0] (case-insensitive)."""
    if not isinstance(config, dict) or len(path) != 2:
        return False
    section, key = (str(part).lower() for part in path)
    for name, options in config.items():
        if str(name).lower() == section and isinstance(options, dict):
            return any(str(option).lower() == key for option in options)
    return False


class TestModule:
    """Configuration tests."""

    def tests(self):
        return {"config_has": config_has}
