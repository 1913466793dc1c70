#!/usr/bin/env python3
"""Write (or --check) the variables table of each role README from its meta/argument_specs.yml.

The table sits between the markers <!-- BEGIN VARIABLES --> and <!-- END VARIABLES --> in
roles/<role>/README.md, so the prose around it stays hand-written and the table never drifts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- BEGIN VARIABLES -->", "<!-- END VARIABLES -->"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default(option: dict) -> str:
    if "default" not in option:
        return "*required*" if option.get("required") else ""
    value = option["default"]
    if isinstance(value, (dict, list)) and len(json.dumps(value)) > 60:
        return "*see defaults/main.yml*"
    return f"`{json.dumps(value)}`"


def table(spec_path: Path) -> str:
    spec = yaml.safe_load(spec_path.read_text())["argument_specs"]["main"]
    rows = ["| variable | type | default | description |", "|---|---|---|---|"]
    for name, option in spec.get("options", {}).items():
        description = option.get("description", "")
        if isinstance(description, list):
            description = " ".join(description)
        if option.get("choices"):
            description += " Choices: " + ", ".join(f"`{c}`" for c in option["choices"]) + "."
        if option.get("options"):
            description += " Keys: " + ", ".join(f"`{k}`" for k in option["options"]) + "."
        rows.append(f"| `{name}` | {option.get('type', 'str')} | {_cell(_default(option))} | {_cell(description)} |")
    return "\n".join(rows)


def update(readme: Path, generated: str, check: bool) -> bool:
    text = readme.read_text() if readme.exists() else ""
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n## Variables\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    new = f"{head}{BEGIN}\n{generated}\n{END}{tail}"
    if new == text:
        return True
    if check:
        return False
    readme.write_text(new)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when a README is out of date")
    args = parser.parse_args()
    stale = []
    for spec_path in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        role = spec_path.parent.parent
        if not update(role / "README.md", table(spec_path), args.check):
            stale.append(role.name)
    if stale:
        print("out of date, run tests/scripts/role_docs.py: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
