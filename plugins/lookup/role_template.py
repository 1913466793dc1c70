# Copyright: airflow_k8s maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""ansible.builtin.template's lookup without its copy of every variable for each file it renders."""

from __future__ import annotations

DOCUMENTATION = r"""
name: role_template
author: airflow_k8s maintainers (@airflow-k8s)
version_added: 1.1.0
short_description: Render a role's template, as ansible.builtin.template's lookup does, sharing the task's variables
description:
  - Returns, for each template named, the text ansible.builtin.template's lookup returns for it, from the same search
    path (the role's C(templates) folder first), with the same options.
  - That lookup deep-copies every variable of the task before each file it renders (role defaults, derived variables,
    inventory), which took about half of the time the roles spend rendering their manifests. This one gives the
    template the task's variables under an empty layer of its own instead, where I(template_vars) and the variables
    Ansible adds for a template (C(template_path)...) go; the task's variables are never written to.
options:
  _terms:
    description: The templates to render.
    type: list
    elements: str
    required: true
  template_vars:
    description: A dictionary whose keys become additional variables of the template.
    type: dict
    default: {}
  variable_start_string:
    description: The string marking the beginning of a print statement.
    type: str
    default: "{{"
  variable_end_string:
    description: The string marking the end of a print statement.
    type: str
    default: "}}"
  comment_start_string:
    description: The string marking the beginning of a comment statement.
    type: str
    default: "{#"
  comment_end_string:
    description: The string marking the end of a comment statement.
    type: str
    default: "#}"
  trim_blocks:
    description: Whether the first newline after a block tag is removed.
    type: bool
    default: true
seealso:
  - plugin: ansible.builtin.template
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Render a phase's manifests
  ansible.builtin.set_fact:
    objects: "{{ lookup('airflow_k8s.platform.role_template', 'phase.yaml.j2', template_vars={'templates': ['a.yaml.j2']}) }}"
"""

RETURN = r"""
_raw:
  description: The rendered text of each template.
  type: list
  elements: raw
"""

from collections import ChainMap

from ansible.plugins.lookup.template import LookupModule as TemplateLookup


class SharedVariables(ChainMap):
    """The task's variables as the template lookup receives them: its copy of them (copy.deepcopy) is an empty layer
    over the same variables, which takes the variables it adds (template_vars, template_path...)."""

    def __deepcopy__(self, memo):
        return ChainMap({}, *self.maps)


class LookupModule(TemplateLookup):
    """ansible.builtin.template's lookup, given SharedVariables."""

    def run(self, terms, variables=None, **kwargs):
        return super().run(terms, variables=SharedVariables(variables if variables is not None else {}), **kwargs)
