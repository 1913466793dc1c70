# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The problems of an input value that a regex cannot see (airflow.cfg sections, env entries, resources)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import input_rules


def input_problems(value, kind: str, name: str, reserved=(), forbidden=()) -> list[str]:
    """Messages naming the variable, the value and the fix; an empty list when the value is fine."""
    if kind == "config":
        return input_rules.config_problems(value, name)
    if kind == "env":
        return input_rules.env_problems(value, reserved, name, forbidden)
    if kind == "peers":
        return input_rules.peers_problems(value)
    if kind == "names":
        return input_rules.name_problems(value)
    if kind == "extensions":
        return input_rules.extension_problems(value)
    if kind == "resources":
        return input_rules.resources_problems(value, name)
    raise AnsibleFilterError(f"input_problems: unknown kind {kind!r} (config, env, resources, names, peers, extensions)")


class FilterModule:
    """Input problems filter."""

    def filters(self):
        return {"input_problems": input_problems}
