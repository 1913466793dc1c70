#!/usr/bin/env python3
"""Change the Airflow release the collection deploys and tests, in every place that must change together.

    tests/scripts/bump-airflow-version.py 3.3.3     # edit the files, then re-lock the test image (printed)
    tests/scripts/bump-airflow-version.py --check   # exit 1 when a place disagrees with the roles' default

The source is the fallback in roles/airflow_core/defaults/main.yml (airflow_core_version); the other places are
listed in PLACES below. tests/test_one_source.py runs --check and fails on any copy of the version elsewhere.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VERSION_RE = r"[0-9]+\.[0-9]+\.[0-9]+"
SOURCE = ("roles/airflow_core/defaults/main.yml", r"(airflow_core_version: \"\{\{ airflow_version \| default\(')(?P<v>" + VERSION_RE + r")('\))")

# (file or glob, regex whose group "v" is the version; every match in every file is one place)
PLACES: list[tuple[str, str]] = [
    SOURCE,
    ("roles/airflow_core/meta/argument_specs.yml", r"(      airflow_core_version:\n(?:        .*\n)*?        default: \"?)(?P<v>" + VERSION_RE + r")(\"?\n)"),
    # Inventories shipped with the collection and the Molecule scenarios' inventories
    ("inventories/*/group_vars/*/*.yml", r"(^airflow_version: \")(?P<v>" + VERSION_RE + r")(\")"),
    ("inventories/*/group_vars/*/*.yml", r"(^airflow_image_tag: .*default\(')(?P<v>" + VERSION_RE + r")(', true\))"),
    ("inventories/*/group_vars/*/*.yml", r"(^airflow_image_tag: \")(?P<v>" + VERSION_RE + r")((?:-[0-9]+)?\")"),
    ("inventories/*/group_vars/*/*.yml", r"(built FROM apache/airflow:)(?P<v>" + VERSION_RE + r")()"),
    ("extensions/molecule/*/inventory/group_vars/*/*.yml", r"(^airflow_version: \")(?P<v>" + VERSION_RE + r")(\")"),
    ("extensions/molecule/*/inventory/group_vars/*/*.yml", r"(^airflow_image_tag: .*default\(')(?P<v>" + VERSION_RE + r")(', true\))"),
    # The test image (tests/images): its version; the upstream image and lock.sh's pin follow from it there
    ("tests/images/versions.env", r"(^AIRFLOW_VERSION=)(?P<v>" + VERSION_RE + r")()"),
]
# Follows from versions.env: re-locked with tests/images/airflow/lock.sh, not edited (checked by --check).
LOCK = ("tests/images/airflow/requirements.lock", r"(^apache-airflow==)(?P<v>" + VERSION_RE + r")( )")


def current() -> str:
    text = (ROOT / SOURCE[0]).read_text()
    match = re.search(SOURCE[1], text, re.M)
    if not match:
        raise SystemExit(f"{SOURCE[0]}: airflow_core_version's fallback not found")
    return match["v"]


def places(pattern: str, regex: str) -> list[tuple[Path, re.Match[str]]]:
    found = []
    for path in sorted(ROOT.glob(pattern)):
        found += [(path, m) for m in re.finditer(regex, path.read_text(), re.M)]
    return found


def check(version: str) -> list[str]:
    problems = []
    for pattern, regex in [*PLACES, LOCK]:
        matches = places(pattern, regex)
        if not matches:
            problems.append(f"{pattern}: no place matches {regex!r} (update PLACES in {Path(__file__).name})")
        problems += [f"{p.relative_to(ROOT)}: {m['v']} != {version}" for p, m in matches if m["v"] != version]
    return problems


def bump(new: str) -> None:
    for pattern, regex in PLACES:
        for path in sorted(ROOT.glob(pattern)):
            text = path.read_text()
            changed = re.sub(regex, lambda m: m.group(1) + new + m.group(len(m.groups())), text, flags=re.M)
            if changed != text:
                path.write_text(changed)
                print(f"updated {path.relative_to(ROOT)}")
    subprocess.run([sys.executable, str(ROOT / "tests/scripts/role_docs.py")], check=True, cwd=ROOT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("version", nargs="?", help="the new Airflow release, e.g. 3.3.3")
    parser.add_argument("--check", action="store_true", help="only check that every place agrees")
    args = parser.parse_args()
    if args.check or not args.version:
        problems = check(current())
        print("\n".join(problems) or f"Airflow {current()} everywhere")
        return 1 if problems else 0
    if not re.fullmatch(VERSION_RE, args.version):
        parser.error(f"{args.version!r} is not a release number such as 3.3.3")
    bump(args.version)
    print("Now re-lock the test image: tests/images/airflow/lock.sh (the lock pins apache-airflow and its deps),\n"
          "rebuild it (tests/images/build.sh), and add a changelog fragment.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
