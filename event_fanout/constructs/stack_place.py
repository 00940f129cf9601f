"""Where a fan-out puts what it builds once per stack holding consumers.

The dashboards, the saved log queries and the composite alarm each read only their own stack's
resources (another stack's would be cross-stack references, an output per name in a shard). In
the fan-out's stack they are the fan-out's children; in a shard's stack they sit at the stack's
root, their ids prefixed with the fan-out's id, and their names and descriptions say the shard.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from constructs import Construct

__all__ = ["StackPlace", "place_in"]


@dataclass(frozen=True)
class StackPlace:
    """The scope, id prefix and shard name of a fan-out's per-stack construct."""

    scope: Construct
    #: "" in the fan-out's own stack, else the fan-out's id (the scope is the stack's root).
    id_prefix: str
    #: "" in the fan-out's own stack, else the shard stack's id (for names and descriptions).
    shard: str


def place_in(fanout: Construct, stack: Stack) -> StackPlace:
    """Where ``fanout``'s per-stack construct for ``stack`` goes."""
    if stack is Stack.of(fanout):
        return StackPlace(fanout, "", "")
    return StackPlace(stack, fanout.node.id, stack.node.id)
