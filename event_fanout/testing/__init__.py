"""Helpers for testing your own CDK stacks that use this library (not the Lambda-side kit).

Snapshot tests of synthesized templates churn on things that are not changes to what deploys:
asset hashes (any byte of any bundled code), CDK's metadata and its bootstrap-version check.
:func:`normalize_template` replaces or drops exactly those, and
:class:`~event_fanout.testing.snapshot.NormalizedTemplateExtension` (``pip install
cdk-event-fanout[testing]``) applies it inside a syrupy snapshot.

The consumer-side test helpers (fake SQS events, a Lambda context) are
:mod:`event_fanout.runtime.testing`.

Examples
--------
>>> template = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {
...     "Code": {"S3Key": "0123456789abcdef" * 4 + ".zip"}},
...     "Metadata": {"aws:cdk:path": "Stack/Fn/Resource"}}}}
>>> normalize_template(template)["Resources"]["Fn"]
{'Properties': {'Code': {'S3Key': '<asset-hash>.zip'}}, 'Type': 'AWS::Lambda::Function'}

"""

from __future__ import annotations

from event_fanout.testing.templates import ASSET_HASH_MARKER, normalize_template

__all__ = ["ASSET_HASH_MARKER", "normalize_template"]
