"""Memoized construct lookups that would otherwise cost a jsii round trip per consumer.

In Python every ``Stack.of``, ``node.path`` or ``stack.region`` is a request to the Node.js
jsii kernel and back. A fan-out asks the same questions for every consumer (all consumers of
one fan-out share a scope, a stack and a bus), so answers are cached per object. The cached
facts never change once a construct exists: a construct cannot move to another parent, and a
stack's account, region and partition are fixed when it is created.

Weak keys: the caches do not keep an app alive after its last use (tests build many apps).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Final

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from constructs import Construct


@dataclass(frozen=True)
class StackFacts:
    """What consumers read from their stack, read once."""

    stack: Stack
    partition: str
    region: str
    account: str


_STACK_OF: Final[weakref.WeakKeyDictionary[Construct, StackFacts]] = weakref.WeakKeyDictionary()
_PATH_OF: Final[weakref.WeakKeyDictionary[Construct, str]] = weakref.WeakKeyDictionary()
_BUS_NAME: Final[weakref.WeakKeyDictionary[events.IEventBus, str]] = weakref.WeakKeyDictionary()


def stack_facts(scope: Construct) -> StackFacts:
    """``Stack.of(scope)`` with its partition, region and account, cached per scope."""
    facts = _STACK_OF.get(scope)
    if facts is None:
        stack = Stack.of(scope)
        facts = StackFacts(stack, stack.partition, stack.region, stack.account)
        _STACK_OF[scope] = facts
    return facts


def path_of(scope: Construct) -> str:
    """``scope.node.path``, cached per scope."""
    path = _PATH_OF.get(scope)
    if path is None:
        path = scope.node.path
        _PATH_OF[scope] = path
    return path


def child_path(scope: Construct, child_id: str) -> str:
    """The path a child ``child_id`` of ``scope`` has, without asking the kernel."""
    parent = path_of(scope)
    return f"{parent}/{child_id}" if parent else child_id


def bus_name(bus: events.IEventBus) -> str:
    """``bus.event_bus_name`` (a token for a created bus), cached per bus."""
    name = _BUS_NAME.get(bus)
    if name is None:
        name = bus.event_bus_name
        _BUS_NAME[bus] = name
    return name


_DURATIONS: Final[dict[int, Duration]] = {}


def seconds_duration(seconds: int) -> Duration:
    """``Duration.seconds(seconds)``, one object per value (Durations are immutable)."""
    duration = _DURATIONS.get(seconds)
    if duration is None:
        duration = Duration.seconds(seconds)
        _DURATIONS[seconds] = duration
    return duration
