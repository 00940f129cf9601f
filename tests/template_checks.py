"""Checks real users run on synthesized templates (cfn-lint)."""

from __future__ import annotations

import json
from typing import Any

from cfnlint.api import ManualArgs, lint

#: cfn-lint rules not applied, each with why it does not apply to CDK output.
IGNORED_CFN_LINT_RULES = {
    # aws-lambda's Function adds DependsOn on its role (and the role's policy) so the policy
    # exists before the function is invoked; the Role GetAtt already orders the role itself.
    # Redundant, harmless, and written by aws-cdk-lib, not by this library.
    "W3005": "redundant DependsOn that aws-cdk-lib writes for every Function",
}


def cfn_lint(template: dict[str, Any], region: str = "eu-west-1") -> list[str]:
    """cfn-lint findings (errors and warnings; informational ones ignored) as readable lines."""
    matches = lint(
        json.dumps(template),
        config=ManualArgs(regions=[region], ignore_checks=list(IGNORED_CFN_LINT_RULES)),
    )
    return [
        f"{m.rule.id} {m.message} ({'/'.join(str(p) for p in m.path)})"
        for m in matches
        if m.rule.id[0] in "EW"
    ]
