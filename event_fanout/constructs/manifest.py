"""What a deployed fan-out is made of, written into its templates for the tools that operate it.

``event-fanout status``, ``dlq``, ``redrive`` and ``replay`` find a fan-out's resources in a
deployed stack without the app's code: each fan-out and each consumer writes one entry into the
CloudFormation ``Metadata`` of a resource it owns, under the key :data:`MANIFEST_KEY`. An entry
names the other resources by their logical ids in the same template, which CloudFormation's
``ListStackResources`` turns into physical ids (queue URLs, function and table names, alarm
names). The entries survive ``--no-path-metadata`` and construct-tree refactors (unlike
``aws:cdk:path``), cost no stack outputs (a stack has at most 200), and each template carries
the entries of its own resources, so nested shards describe themselves.

The contract (version 1, documented in docs/operations.md):

- On the fan-out's undeliverable-events queue: ``{"version": 1, "kind": "fanout", "name",
  "path", "bus", "archive", "undeliverableEventsQueue", "undeliverableEventsAlarm"}``.
- On each consumer's queue: ``{"version": 1, "kind": "consumer", "name", "path", "fanout",
  "fifo", "queue", "deadLetterQueue", "rule", "function", "idempotencyTable", "alarms"}``;
  ``alarms`` maps each alarm's attribute name (``dead_letter_queue_depth``, ...) to a reference.
- With event types (additive): a consumer's ``eventType`` (name, source, detailType, version,
  schema, accepts) and the fan-out's ``producers`` (id, external, eventTypes).

A reference is ``{"logicalId": ...}`` for a resource of the same template, ``{"name": ...}`` for
one defined elsewhere whose name is known at synth (an imported bus, a shared table); a field
with no such resource is left out. ``fanout`` is the fan-out's name (``EventFanout.name``,
unique in the account; left out for a standalone consumer), which joins consumers in shards to
their fan-out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import CfnResource, Stack, Token
from constructs import IConstruct

from event_fanout.manifest_format import MANIFEST_KEY, MANIFEST_VERSION

__all__ = ["MANIFEST_KEY", "MANIFEST_VERSION", "describe", "reference"]


def reference(holder: IConstruct, resource: IConstruct | None, name: str | None = None) -> Any:
    """How an entry on ``holder`` names ``resource``: its logical id, else its name, else None.

    Parameters
    ----------
    holder
        The construct whose template carries the entry.
    resource
        The resource (an L2 or its ``CfnResource``); None when there is none.
    name
        The resource's physical name, used when it is not in the holder's template (imported)
        and is known at synth (not a token).

    """
    if resource is None:
        return None
    cfn = resource if isinstance(resource, CfnResource) else resource.node.default_child
    if isinstance(cfn, CfnResource) and Stack.of(cfn) is Stack.of(holder):
        return {"logicalId": cfn.logical_id}
    if name is not None and not Token.is_unresolved(name):
        return {"name": name}
    return None


def describe(holder: IConstruct, kind: str, entry: Mapping[str, Any]) -> None:
    """Write ``entry`` (with its kind and the contract's version) into ``holder``'s metadata."""
    cfn = holder if isinstance(holder, CfnResource) else holder.node.default_child
    if not isinstance(cfn, CfnResource):
        raise TypeError(f"{holder.node.path} has no CloudFormation resource to describe")
    cfn.add_metadata(MANIFEST_KEY, {"version": MANIFEST_VERSION, "kind": kind, **entry})
