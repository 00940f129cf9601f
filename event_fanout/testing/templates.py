"""Normalizing synthesized templates for stable snapshots."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

#: What an asset hash is replaced with.
ASSET_HASH_MARKER: Final = "<asset-hash>"
#: An asset's content hash (SHA-256, 64 hex characters), in S3 keys, image tags and nested
#: stacks' template URLs.
_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
#: Metadata keys CDK writes on resources (construct paths, asset paths, nag acknowledgements).
_CDK_METADATA_PREFIXES = ("aws:cdk:", "aws:asset:")
#: What ``DefaultStackSynthesizer`` adds for the bootstrap-version check.
_BOOTSTRAP_PARAMETER = "BootstrapVersion"
_BOOTSTRAP_RULE = "CheckBootstrapVersion"


def normalize_template(template: Mapping[str, Any]) -> dict[str, Any]:
    """The template with what changes between builds and CDK releases replaced or removed.

    - asset hashes become ``<asset-hash>`` (they change with any byte of the code they bundle);
    - CDK's ``aws:cdk:*`` / ``aws:asset:*`` resource metadata, the ``CDKMetadata`` resource and
      its ``CDKMetadataAvailable`` condition are removed (they change with the CDK version);
    - the ``BootstrapVersion`` parameter and the ``CheckBootstrapVersion`` rule are removed
      (owned by the CDK release). Your own parameters, rules and metadata stay.

    The input is not modified; keys are sorted, so the result compares equal whatever order
    CDK wrote them in.

    Parameters
    ----------
    template
        A synthesized template (``Template.from_stack(stack).to_json()``, or a
        ``*.template.json`` file's contents).

    Returns
    -------
    dict[str, Any]
        The normalized copy.

    """
    text = _ASSET_HASH.sub(ASSET_HASH_MARKER, json.dumps(template, sort_keys=True))
    data: dict[str, Any] = json.loads(text)
    resources: dict[str, Any] = data.get("Resources", {})
    resources.pop("CDKMetadata", None)
    for resource in resources.values():
        metadata = resource.get("Metadata")
        if not isinstance(metadata, dict):
            continue
        for key in [k for k in metadata if k.startswith(_CDK_METADATA_PREFIXES)]:
            del metadata[key]
        if not metadata:
            del resource["Metadata"]
    _drop(data, "Conditions", "CDKMetadataAvailable")
    _drop(data, "Parameters", _BOOTSTRAP_PARAMETER)
    _drop(data, "Rules", _BOOTSTRAP_RULE)
    return data


def _drop(data: dict[str, Any], section: str, key: str) -> None:
    """Remove ``data[section][key]``, and the section once it is empty."""
    entries = data.get(section)
    if isinstance(entries, dict):
        entries.pop(key, None)
        if not entries:
            del data[section]
