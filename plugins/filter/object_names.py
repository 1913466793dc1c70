# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Names of the Kubernetes objects that one role makes and another uses, derived from the instance name."""

from __future__ import annotations


def object_names(instance: str) -> dict[str, str]:
    """Every name shared between roles, for an instance (the prefix of all its objects).

    claim_prefix + <volume key> is the name of a storage role's PersistentVolumeClaim; dags_claim and
    logs_claim are the two that airflow_core mounts. core_secret holds airflow_core's generated keys (fernet key,
    JWT secret, API secret key, admin password), which airflow_db's backup and restore carry; backup_claim holds
    airflow_db's database dumps.
    """
    if not isinstance(instance, str) or not instance:
        raise ValueError("object_names needs the instance name, a non-empty string")
    return {
        "db_connection_secret": f"{instance}-metadata-db",
        "db_ca_secret": f"{instance}-metadata-db-ca",
        "claim_prefix": f"{instance}-",
        "dags_claim": f"{instance}-dags",
        "logs_claim": f"{instance}-logs",
        "postgres_data_claim": f"{instance}-postgres-data",
        "api_server_service": f"{instance}-api-server",
        # ConfigMap airflow_core writes after a successful schema migration (Airflow version, alembic revision,
        # time); its preflight refuses a lower version, a restore of an older backup replaces or deletes it.
        "release_record": f"{instance}-release",
        "core_secret": f"{instance}-secrets",
        "backup_claim": f"{instance}-backup",
        # Secret site.yml writes after a full run (digests only): a re-run compares with it (rerun_state).
        "applied_record": f"{instance}-applied",
    }


class FilterModule:
    """Shared object names filter."""

    def filters(self):
        return {"object_names": object_names}
