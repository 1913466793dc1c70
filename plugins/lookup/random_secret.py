# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Generate secret values (Fernet keys, tokens) from the operating system's CSPRNG."""

from __future__ import annotations

DOCUMENTATION = r"""
name: random_secret
author: airflow_k8s maintainers (@airflow-k8s)
version_added: 1.0.0
short_description: Generate a Fernet key or a random token
description:
  - Returns one freshly generated value per term. Terms name the kind of value.
  - C(fernet) gives a url-safe base64 encoding of 32 random bytes, the format Airflow's C(fernet_key) needs.
  - C(token) gives I(length) characters from letters and digits, suitable for passwords and signing keys.
  - The roles call it only when a value does not exist yet, so values are generated once and kept.
options:
  _terms:
    description: Kinds of value to generate, C(fernet) or C(token).
    type: list
    elements: str
    required: true
  length:
    description: Length of a C(token).
    type: int
    default: 32
"""

EXAMPLES = r"""
- name: Generate a Fernet key and a 48-character token
  ansible.builtin.set_fact:
    fernet: "{{ lookup('airflow_k8s.platform.random_secret', 'fernet') }}"
    token: "{{ lookup('airflow_k8s.platform.random_secret', 'token', length=48) }}"
"""

RETURN = r"""
_raw:
  description: One generated value per term.
  type: list
  elements: str
"""

import base64
import secrets
import string

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

_ALPHABET = string.ascii_letters + string.digits


def fernet_key() -> str:
    """A Fernet key: url-safe base64 of 32 random bytes (44 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def token(length: int = 32) -> str:
    """A random string of letters and digits."""
    if length < 16:
        raise ValueError("a token must be at least 16 characters long")
    return "".join(secrets.choice(_ALPHABET) for _index in range(length))


class LookupModule(LookupBase):
    """Lookup entry point."""

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        length = self.get_option("length")
        values = []
        for term in terms:
            if term == "fernet":
                values.append(fernet_key())
            elif term == "token":
                try:
                    values.append(token(length))
                except ValueError as exc:
                    raise AnsibleError(str(exc)) from exc
            else:
                raise AnsibleError(f"random_secret: unknown kind {term!r}; use 'fernet' or 'token'")
        return values
