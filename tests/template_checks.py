"""Checks real users run on synthesized templates (cfn-lint), and snapshot normalization."""

from __future__ import annotations

import json
import re
from typing import Any

from cfnlint.api import ManualArgs, lint

#: An asset's content hash (64 hex chars): changes with any byte of the handler or runtime code.
_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


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


def normalized(template: dict[str, Any]) -> dict[str, Any]:
    """The template with what changes between machines and CDK releases replaced by markers.

    Asset hashes change with any byte of the packaged code, and CDK's own metadata with its
    version; neither is a change in what the stack deploys.
    """
    text = _ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True))
    data: dict[str, Any] = json.loads(text)
    for resource in data.get("Resources", {}).values():
        metadata = resource.get("Metadata", {})
        for key in list(metadata):
            if key.startswith("aws:cdk:") or key.startswith("aws:asset:"):
                del metadata[key]
        if "Metadata" in resource and not metadata:
            del resource["Metadata"]
    data.pop("Parameters", None)  # bootstrap-version parameter, owned by the CDK release
    data.pop("Rules", None)
    data.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    data.get("Resources", {}).pop("CDKMetadata", None)
    return data
