# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""A re-run of site.yml with nothing to change, decided in one task (rerun_state).

state=check, the first task of site.yml: the fingerprint of this run's inputs (plugins/plugin_utils/rerun_state.py),
then, when it equals the one the last full run recorded, one list call per kind of the objects that run applied: when
every object is as that run left it (the fields the collection owns), every workload is ready and the Secrets the
collection does not own are unchanged, the answer is unchanged=true and site.yml's plays end there. Otherwise, or
with --tags/--skip-tags, in render mode, or with airflow_skip_unchanged=false, the run is a full one.
state=record, the last task of a full site.yml run: the same digests, written into the Secret <instance>-applied (a
Secret: it holds digests of secret values).
The reads are made in this process (plugins/plugin_utils/kube_local.py); where the kubernetes.core modules would run
on another host, the check answers unchanged=false (a full run).
"""

from __future__ import annotations

import base64
import json
import os
import re

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.airflow_k8s.platform.plugins.module_utils.rerun_state_spec import ARGUMENT_SPEC
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import core_version
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import kube_local
from ansible_collections.airflow_k8s.platform.plugins.plugin_utils import rerun_state as rs
from ansible_collections.airflow_k8s.platform.plugins.filter.object_names import object_names

try:
    from ansible.executor.module_common import _apply_action_arg_defaults
except ImportError:
    _apply_action_arg_defaults = None

# The variables that make a run's input, and those of them whose local files do not count (a kubeconfig's token is
# refreshed by its tools; the cluster it names is where the record lives).
INPUT_PREFIXES = ("airflow_", "storage_")
NOT_CONTENT = ("kubeconfig",)
NOT_INPUTS = ("airflow_skip_unchanged",)  # how to run, not what to deploy: a full run records the same fingerprint
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ActionModule(ActionBase):
    """Action plugin behind airflow_k8s.platform.rerun_state."""

    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        if refused := core_version.refusal():
            return refused
        result = super().run(tmp, task_vars)
        validated = ArgumentSpecValidator(ARGUMENT_SPEC).validate(self._task.args)
        if validated.error_messages:
            raise AnsibleActionFail("rerun_state: " + "; ".join(validated.error_messages))
        args = validated.validated_parameters
        with kube_local.Kubeconfigs(self) as self._kubeconfigs:
            if args["state"] == "check":
                return self._check(result, args, task_vars)
            return self._record(result, args)

    # ------------------------------------------------------------------------------------------------------ check
    def _check(self, result: dict, args: dict, task_vars: dict) -> dict:
        try:  # true/false, and their spellings on a command line (-e airflow_skip_unchanged=false)
            enabled = boolean(args["enabled"], strict=True)
        except TypeError:
            raise AnsibleActionFail(
                f"airflow_skip_unchanged={json.dumps(args['enabled'], default=str)} is not a boolean: use true (a re-run with "
                "nothing to change ends after one read of the cluster) or false (every re-run is a full one).") from None
        # This run starts its own list of the objects it applies (a fact cache may keep an earlier run's).
        result.update(changed=False, unchanged=False, ansible_facts={rs.APPLIED_FACT: []})
        try:
            result["fingerprint"] = self._fingerprint(task_vars)
        except rs.Unfingerprintable as e:
            result["fingerprint"] = ""
            return self._full(result, f"an input cannot be fingerprinted ({e})")
        if not enabled:
            return self._full(result, "airflow_skip_unchanged is false")
        try:
            where = self._where(args, task_vars)
        except Exception as e:  # an input the roles' own preflight explains better
            return self._full(result, f"the namespace and instance could not be resolved ({e})")
        if where is None:
            return self._full(result, "render mode")
        args = {**args, **where}
        if not all(_DNS_LABEL.match(args[k]) for k in ("namespace", "name")):  # the preflight names the variable
            return self._full(result, "the namespace or instance is not a valid name")
        tags, skip = task_vars.get("ansible_run_tags") or ["all"], task_vars.get("ansible_skip_tags") or []
        if list(tags) != ["all"] or list(skip):
            return self._full(result, "the run selects tags")
        kube = self._kube()
        if kube is None:
            return self._full(result, "the cluster is read through the kubernetes.core modules here")
        try:
            found = kube.read("Secret", "v1", args["name"], args["namespace"])[0]
            if not found:
                return self._full(result, f"no record of an earlier full run (Secret {args['namespace']}/{args['name']})")
            data = {k: base64.b64decode(v).decode("utf-8") for k, v in (found[0].get("data") or {}).items()}
            result["summary"] = json.loads(data.get("summary", "[]"))
            if data.get("fingerprint") != result["fingerprint"]:
                return self._full(result, "the inputs or the collection changed since the last full run")
            recorded = json.loads(data.get("objects", "{}"))
            recorded_secrets = json.loads(data.get("secrets", "{}"))
            live, not_ready = self._digests(kube, recorded)
            live_secrets = self._other_secrets(kube, args["namespace"], recorded, args["name"])
        except Exception as e:  # an unreachable API server, a record that does not parse: the full run says more
            return self._full(result, f"the record could not be compared ({kube_local.api_error(e)})")
        differ = rs.compare(recorded, live) + rs.compare(recorded_secrets, live_secrets)
        if differ:
            return self._full(result, "changed since the last full run: " + "; ".join(differ[:5])
                              + (f" and {len(differ) - 5} more" if len(differ) > 5 else ""))
        if not_ready:
            return self._full(result, "not ready: " + "; ".join(not_ready[:5]))
        result.update(unchanged=True, objects=len(recorded),
                      msg=f"Nothing to change: the inputs are those of the last full run and its {len(recorded)} "
                          "objects are as it left them, every workload ready.")
        return result

    def _where(self, args: dict, task_vars: dict) -> dict | None:
        """namespace and name of the record: given, or those airflow_core resolves (airflow_core_namespace,
        airflow_core_instance, from the inventory or the role's defaults: site.yml has not loaded the role yet);
        None in render mode (airflow_core_render_dir)."""
        defaults = None

        def value(name: str) -> str:
            nonlocal defaults
            if name in task_vars:
                return str(self._templar.template(task_vars[name]))
            if defaults is None:
                defaults = self._loader.load_from_file(os.path.join(COLLECTION_ROOT, "roles", "airflow_core",
                                                                    "defaults", "main.yml"), trusted_as_template=True) or {}
            templar = self._templar.copy_with_new_env(available_variables={**defaults, **task_vars})
            return str(templar.template(defaults[name]))

        if value("airflow_core_render_dir"):
            return None
        return {"namespace": args["namespace"] or value("airflow_core_namespace"),
                "name": args["name"] or object_names(value("airflow_core_instance"))["applied_record"]}

    @staticmethod
    def _full(result: dict, why: str) -> dict:
        result["msg"] = f"A full run: {why}."
        return result

    def _fingerprint(self, task_vars: dict) -> str:
        names = sorted(k for k in task_vars if k.startswith(INPUT_PREFIXES) and k not in NOT_INPUTS)
        values = {}
        for name in names:
            try:
                values[name] = self._templar.template(task_vars[name])
            except Exception:  # a value only a role's own tasks can resolve: its text counts
                values[name] = repr(task_vars[name])
        paths = {k: v for k, v in values.items() if not any(word in k for word in NOT_CONTENT)}
        bases = [os.getcwd()] + [task_vars[k] for k in ("inventory_dir", "playbook_dir")
                                 if isinstance(task_vars.get(k), str)]
        return rs.input_fingerprint(COLLECTION_ROOT, values, paths, bases)

    def _kube(self):
        if not kube_local.usable(self):
            return None
        try:
            return kube_local.Kube(self._kubeconfigs.resolve(
                _apply_action_arg_defaults("kubernetes.core.k8s", self._task, {}, self._templar)))
        except kube_local.KubeError:
            return None

    @staticmethod
    def _digests(kube, keys) -> tuple[dict, list]:
        """{key: digest} of the live objects, and the workloads among them that are not ready."""
        live, not_ready = {}, []
        for (api_version, kind, namespace), names in rs.groups(keys).items():
            items = kube.read(kind, api_version, namespace=namespace)[0]
            by_name = {(i.get("metadata") or {}).get("name"): i for i in items}
            for name in names:
                obj = by_name.get(name)
                live[rs.ref_key(api_version, kind, namespace, name)] = rs.object_digest(obj)
                why = kube_local.not_ready({"kind": kind, **obj}) if obj else None
                if why:
                    not_ready.append(f"{kind} {name}: {why}")
        return live, not_ready

    @staticmethod
    def _other_secrets(kube, namespace: str, owned: dict, record: str) -> dict:
        """{key: digest} of the Secrets of the namespace the collection did not apply (the user's own values), the
        record itself left out."""
        items = kube.read("Secret", "v1", namespace=namespace)[0]
        out = {}
        for item in items:
            name = (item.get("metadata") or {}).get("name")
            key = rs.ref_key("v1", "Secret", namespace, name)
            if key not in owned and name != record:
                out[key] = rs.secret_digest(item)
        return out

    # ----------------------------------------------------------------------------------------------------- record
    def _record(self, result: dict, args: dict) -> dict:
        result["changed"] = False
        if not args["namespace"] or not args["name"]:
            raise AnsibleActionFail("rerun_state: state=record needs namespace and name")
        if self._task.check_mode:
            return result
        keys = sorted({k for k in args["objects"] if rs.split_ref(k)[1] not in rs.ONE_SHOT_KINDS})
        kube = self._kube()
        if kube is None:
            result["msg"] = "Not recorded: the cluster is read through the kubernetes.core modules here."
            return result
        name, namespace = args["name"], args["namespace"]
        try:
            # What earlier runs applied and this one did not (the release record after its migration) still counts
            # while it exists; what is gone (a feature switched off) no longer does.
            previous = kube.read("Secret", "v1", name, namespace)[0]
            earlier = set(json.loads(base64.b64decode((previous[0].get("data") or {}).get("objects", "e30="))
                                     .decode("utf-8"))) if previous else set()
            live = self._digests(kube, sorted(set(keys) | earlier))[0]
            live = {k: v for k, v in live.items() if k in keys or v != "missing"}
            missing = [k for k, v in live.items() if v == "missing"]
            if missing or not keys or not args["fingerprint"]:
                # Something this run applied is gone already (or nothing to record): the next run is a full one.
                result["changed"] = kube.delete({"apiVersion": "v1", "kind": "Secret",
                                                 "metadata": {"name": name, "namespace": namespace}}, False)
                result["msg"] = "Not recorded: " + (", ".join(missing) + " missing" if missing else "nothing applied")
                return result
            # A Secret: digests of secret values are kept where those values are, under the same RBAC.
            data = {
                "fingerprint": args["fingerprint"],
                "objects": json.dumps(live, sort_keys=True, indent=0),
                "secrets": json.dumps(self._other_secrets(kube, namespace, live, name), sort_keys=True, indent=0),
                "summary": json.dumps(args["summary"]),
            }
            record = {
                "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": name, "namespace": namespace, "labels": args["labels"]},
                "data": {k: base64.b64encode(v.encode("utf-8")).decode("ascii") for k, v in data.items()},
            }
            applied = kube.apply(record, rs.FIELD_MANAGER, False)
        except Exception as e:
            result.update(failed=True, msg=f"recording the run in Secret {namespace}/{name} failed: "
                                           f"{kube_local.api_error(e)}")
            return result
        result.update(changed=bool(applied.get("changed")), objects=len(live),
                      msg=f"Recorded {len(live)} objects in Secret {namespace}/{name}.")
        return result
