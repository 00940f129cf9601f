"""Print the package's base requirements with aws-cdk-lib at its declared minimum (``==``).

Used by scripts/setup.sh (the wheelhouse tests/package installs from) and by
scripts/test-minimum-cdk.sh (a virtualenv that tests the library against that minimum).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def requirements() -> list[str]:
    """``dependencies`` of pyproject.toml, aws-cdk-lib pinned to its lower bound."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    pinned = []
    for requirement in project["dependencies"]:
        if requirement.startswith("aws-cdk-lib"):
            found = re.search(r">=\s*([0-9][0-9.]*)", requirement)
            if found is None:
                sys.exit(f"aws-cdk-lib has no lower bound in {PYPROJECT}: {requirement}")
            requirement = f"aws-cdk-lib=={found.group(1)}"
        pinned.append(requirement)
    return pinned


if __name__ == "__main__":
    print(" ".join(f"'{r}'" if " " in r else r for r in requirements()))
