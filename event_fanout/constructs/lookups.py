"""Memoized construct lookups that would otherwise cost a jsii round trip per consumer.

In Python every ``Stack.of``, ``node.path`` or ``stack.region`` is a request to the Node.js
jsii kernel and back. A fan-out asks the same questions for every consumer (all consumers of
one fan-out share a scope, a stack and a bus), so answers are cached per object. The cached
facts never change once a construct exists: a construct cannot move to another parent, and a
stack's account, region and partition are fixed when it is created.

Weak keys: the caches do not keep an app alive after its last use (tests build many apps).

Objects created on the Node.js side (a function's ``runtime``, ``architecture`` and
``timeout``, static members such as ``Runtime.PYTHON_3_14``, every ``Duration``) come back as a
new Python proxy on every read, so Python identity cannot key them: their caches key by
:func:`jsii_identity`, the kernel's reference to the JavaScript object (never reused within a
process), and hold only immutable facts (a runtime's name, a Duration's seconds).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Final

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
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
_QUEUE_ARN: Final[weakref.WeakKeyDictionary[sqs.IQueue, str]] = weakref.WeakKeyDictionary()
_EVENTS_PRINCIPAL: Final[weakref.WeakKeyDictionary[Stack, iam.ServicePrincipal]] = (
    weakref.WeakKeyDictionary()
)


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


def queue_arn_of(queue: sqs.IQueue) -> str:
    """``queue.queue_arn`` (a token for a created queue), cached per queue.

    The fan-out's undeliverable-events queue is the dead-letter queue of every consumer's rule.
    """
    arn = _QUEUE_ARN.get(queue)
    if arn is None:
        arn = queue.queue_arn
        _QUEUE_ARN[queue] = arn
    return arn


def events_principal(scope: Construct) -> iam.ServicePrincipal:
    """``ServicePrincipal("events.amazonaws.com")``, one per stack.

    A principal is a value: statements only read its policy fragment, rendered when the
    template is, so the queue policies of one stack can share it.
    """
    stack = stack_facts(scope).stack
    principal = _EVENTS_PRINCIPAL.get(stack)
    if principal is None:
        principal = iam.ServicePrincipal("events.amazonaws.com")
        _EVENTS_PRINCIPAL[stack] = principal
    return principal


@dataclass(frozen=True)
class RuntimeFacts:
    """What the layers need from a Lambda runtime (both fixed when the runtime is created)."""

    name: str
    family: lambda_.RuntimeFamily | None


_RUNTIMES: Final[dict[str, RuntimeFacts]] = {}
_ARCHITECTURE_NAMES: Final[dict[str, str]] = {}


def runtime_facts(runtime: lambda_.Runtime) -> RuntimeFacts:
    """``runtime.name`` and ``runtime.family``, read once per runtime object."""
    key = jsii_identity(runtime)
    facts = _RUNTIMES.get(key) if key else None
    if facts is None:
        facts = RuntimeFacts(runtime.name, runtime.family)
        if key:
            _RUNTIMES[key] = facts
    return facts


def architecture_name(architecture: lambda_.Architecture) -> str:
    """``architecture.name`` (``x86_64`` or ``arm64``), read once per architecture object."""
    key = jsii_identity(architecture)
    name = _ARCHITECTURE_NAMES.get(key) if key else None
    if name is None:
        name = architecture.name
        if key:
            _ARCHITECTURE_NAMES[key] = name
    return name


def jsii_identity(obj: object) -> str | None:
    """The jsii kernel's reference to the JavaScript object behind ``obj`` (None if it has none).

    Unique per object for the life of the process (the kernel numbers objects and never reuses
    a number), whichever Python proxy carries it.
    """
    ref = getattr(obj, "__jsii_ref__", None)
    identity = getattr(ref, "ref", None)
    return identity if isinstance(identity, str) else None


_DURATIONS: Final[dict[int, Duration]] = {}


def seconds_duration(seconds: int) -> Duration:
    """``Duration.seconds(seconds)``, one object per value (Durations are immutable)."""
    duration = _DURATIONS.get(seconds)
    if duration is None:
        duration = Duration.seconds(seconds)
        _DURATIONS[seconds] = duration
    return duration


_HUMAN: Final[dict[str, str]] = {}


def human_duration(value: Duration) -> str:
    """``value.to_human_string()``, read once per Duration (Durations are immutable).

    Defaults are module-level Durations shared by every consumer.
    """
    key = jsii_identity(value)
    text = _HUMAN.get(key) if key else None
    if text is None:
        text = value.to_human_string()
        if key:
            _HUMAN[key] = text
    return text
