# webserver_config.py of the FAB auth manager, written by the airflow_k8s.platform collection (role airflow_core,
# airflow_core_auth_manager: fab). Do not edit it in the pod: the role owns it. Its settings are data: fab.json
# beside this file (ConfigMap <instance>-fab, from the variable airflow_core_fab); the one secret it needs (the OIDC
# client secret or the LDAP bind password) comes from the environment (AIRFLOW_K8S_FAB_PROVIDER_SECRET, from the
# user's Secret airflow_core_fab.provider_secret_ref). Only the api-server mounts this file.
from __future__ import annotations

import json
import os

from flask_appbuilder.security.manager import AUTH_DB, AUTH_LDAP, AUTH_OAUTH

from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride

_here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_here, "fab.json"), encoding="utf-8") as _f:
    _settings = json.load(_f)
_secret = os.environ.get("AIRFLOW_K8S_FAB_PROVIDER_SECRET", "")

WTF_CSRF_ENABLED = True
AUTH_TYPE = {"db": AUTH_DB, "ldap": AUTH_LDAP, "oauth": AUTH_OAUTH}[_settings["auth_type"]]
AUTH_USER_REGISTRATION = bool(_settings["user_registration"])
AUTH_USER_REGISTRATION_ROLE = _settings["user_registration_role"]
AUTH_ROLES_MAPPING = {str(k): list(v) for k, v in (_settings.get("roles_mapping") or {}).items()}
AUTH_ROLES_SYNC_AT_LOGIN = bool(_settings["roles_sync_at_login"])

if AUTH_TYPE == AUTH_LDAP:
    _ldap = _settings["ldap"]
    AUTH_LDAP_SERVER = _ldap["server"]
    AUTH_LDAP_SEARCH = _ldap["search"]
    AUTH_LDAP_UID_FIELD = _ldap["uid_field"]
    AUTH_LDAP_BIND_USER = _ldap["bind_user"]
    AUTH_LDAP_BIND_PASSWORD = _secret
    AUTH_LDAP_USE_TLS = bool(_ldap["use_tls"])
    AUTH_LDAP_ALLOW_SELF_SIGNED = bool(_ldap["allow_self_signed"])
    AUTH_LDAP_GROUP_FIELD = _ldap["group_field"]
    AUTH_LDAP_FIRSTNAME_FIELD = _ldap["firstname_field"]
    AUTH_LDAP_LASTNAME_FIELD = _ldap["lastname_field"]
    AUTH_LDAP_EMAIL_FIELD = _ldap["email_field"]

if AUTH_TYPE == AUTH_OAUTH:
    _oauth = _settings["oauth"]
    OAUTH_PROVIDERS = [
        {
            "name": _oauth["name"],
            "icon": _oauth["icon"],
            "token_key": "access_token",
            "remote_app": {
                "client_id": _oauth["client_id"],
                "client_secret": _secret,
                "server_metadata_url": _oauth["server_metadata_url"],
                "client_kwargs": {"scope": _oauth["scope"]},
            },
        }
    ]

    class OidcSecurityManager(FabAirflowSecurityManagerOverride):
        """User name, e-mail, names and role keys from the ID token's claims (or the userinfo endpoint)."""

        def get_oauth_user_info(self, provider, resp):
            if provider != _oauth["name"]:
                return super().get_oauth_user_info(provider, resp)
            claims = dict(resp.get("userinfo") or {})
            if not claims:
                claims = dict(self.oauth_remotes[provider].userinfo(token=resp) or {})
            roles = claims.get(_oauth["roles_claim"]) or []
            if isinstance(roles, str):
                roles = [roles]
            return {
                "username": claims.get(_oauth["username_claim"]) or claims.get("sub"),
                "email": claims.get("email", ""),
                "first_name": claims.get("given_name", ""),
                "last_name": claims.get("family_name", ""),
                "role_keys": [str(r) for r in roles],
            }

    SECURITY_MANAGER_CLASS = OidcSecurityManager
