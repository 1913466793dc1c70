# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Write a phase's objects as one YAML file on the controller (render mode of the kube_apply action)."""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail

from ansible_collections.airflow_k8s.platform.plugins.filter.manifests import redact_secrets, to_manifests


def write_manifests(objects: list, dest: str, check_mode: bool) -> tuple[str, bool]:
    """Write objects to dest (Secret values blanked) unless the content is the same; (absolute path, changed)."""
    content = to_manifests(redact_secrets([obj for obj in objects if obj]))
    dest = os.path.abspath(os.path.expanduser(str(dest)))
    if not os.path.isdir(os.path.dirname(dest)):
        raise AnsibleActionFail(f"the folder of {dest} does not exist")
    old = None
    if os.path.exists(dest):
        with open(dest, encoding="utf-8") as handle:
            old = handle.read()
    changed = old != content
    if changed and not check_mode:
        tmp_path = dest + ".tmp"
        with open(tmp_path, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, dest)
    return dest, changed
