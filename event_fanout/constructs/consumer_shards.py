"""Where a fan-out puts each consumer: its own stack, or a nested stack chosen by the consumer's id.

CloudFormation refuses a template with more than 500 resources. One consumer is about a dozen
resources (two queues and their policies, rule, mapping, table, seven alarms) plus its function
(function, role, policy, log group), so a single stack holds a few dozen consumers. Past that,
consumers go into ``aws_cdk.NestedStack``s named ``ConsumersShard1``, ``ConsumersShard2``, ...
under the fan-out; CDK wires the references that cross the boundary (bus name, undeliverable
queue ARN, alarm topic ARN) as nested-stack parameters and outputs.

A consumer must never move because another one was added, removed or reordered: a consumer
moved to another template is a new queue, DLQ and idempotency table to CloudFormation (queued
messages lost, deduplication reset). So by default (:class:`StablePlacement`) a consumer's
stack depends on its id alone: with ``shards=None`` every consumer is in the fan-out's stack;
with ``shards=N`` each goes into ``ConsumersShard1..N`` by a jump consistent hash of its id
(raising N to N + 1 moves only the consumers that land in the new shard). A stack that would
overflow its budget is a synth-time error naming the fix. The automatic fill of earlier
versions (:class:`FillingPlacement`: the fan-out's stack, then each shard, in the order
consumers are added) is kept for ``allow_consumer_moves=True``: there, removing a consumer
moves the ones after it.

Counting is cheap on purpose: a full walk of the construct tree per consumer would cost a jsii
round trip per construct. The fan-out's stack is counted once, when the first consumer is
added; after that each consumer's resources are counted in its own subtree (one call), and a
full recount runs only when the estimate comes within ``RECOUNT_MARGIN`` of the budget: once
for a shard (its estimate is exact from then on: only consumers go in, each counted as it is
placed), each time for the fan-out's own stack (the user's, which may grow between consumers).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from aws_cdk import CfnResource, NestedStack, Stack
from constructs import Construct

from event_fanout.errors import ConfigProblem, EventFanoutConfigError

#: CloudFormation's hard limit of resources per template.
CLOUDFORMATION_RESOURCE_LIMIT = 500
#: Resources a stack may hold before consumers move to the next shard: headroom below the hard
#: limit for what is added after the last consumer (outputs do not count, resources do).
DEFAULT_RESOURCE_BUDGET = 450
#: Resources one consumer is assumed to add before the first one has been measured.
ASSUMED_CONSUMER_RESOURCES = 17
#: Re-count the target stack for real when the estimate is this close to the budget.
RECOUNT_MARGIN = 60


class ConsumersShard(NestedStack):
    """A nested stack holding some of a fan-out's consumers (and their functions, if built here).

    Nothing but consumers goes in; its id (``ConsumersShard<n>``) is stable, and which consumers
    it holds depends on their ids alone (unless ``allow_consumer_moves=True``).
    """


class Placement(Protocol):
    """Chooses the scope of each consumer; both strategies below implement it."""

    shards: list[ConsumersShard]

    def next_scope(self, consumer_id: str) -> Construct:
        """The scope consumer ``consumer_id`` (and a factory-built handler) is created in."""
        ...

    def placed(self, created: list[Construct], extra: int = 0) -> None:
        """Record the consumer just created in :meth:`next_scope`'s scope."""
        ...


def jump_hash(key: str, buckets: int) -> int:
    """Jump consistent hash (Lamping and Veach, 2014) of ``key`` into ``range(buckets)``.

    Stable across processes and Python versions (SHA-256, not ``hash()``); going from N to
    N + 1 buckets moves a key only into the new bucket, about 1 / (N + 1) of them.

    Examples
    --------
    >>> [jump_hash("ReportingSync", n) for n in (1, 2, 3)]
    [0, 0, 0]
    >>> jump_hash("AuditLog", 8) == jump_hash("AuditLog", 8)
    True

    """
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    bucket, candidate = -1, 0
    while candidate < buckets:
        bucket = candidate
        seed = (seed * 2862933555777941757 + 1) % (1 << 64)
        candidate = int((bucket + 1) * ((1 << 31) / ((seed >> 33) + 1)))
    return bucket


def count_resources(scope: Construct) -> int:
    """CloudFormation resources under ``scope`` that land in ``scope``'s own stack.

    Resources inside nested stacks below ``scope`` are excluded: they are in another template.
    """
    everything = scope.node.find_all()
    nested = [c for c in everything if _is_a(c, Stack) and c is not scope]
    elsewhere: set[int] = set()
    for stack in nested:
        elsewhere.update(id(c) for c in stack.node.find_all() if c is not stack)
    return sum(1 for c in everything if _is_a(c, CfnResource) and id(c) not in elsewhere)


def _is_a(construct: object, cls: type) -> bool:
    """``isinstance`` by the class hierarchy alone.

    CDK's classes are ABCs (jsii's abstract-class metaclass), so ``isinstance`` asks
    ``ABCMeta.__subclasscheck__``, which answers "no" for a class it has not seen by asking
    each subclass in turn, recursively: ~3 ms per class under ``CfnResource`` (240 ``Cfn*``
    subclasses once a fan-out's modules are loaded). The ~40 classes of a fan-out's tree made
    that 0.12 s of a 50-consumer build. Nothing registers virtual subclasses of these classes,
    so the ``__mro__`` gives the same answer.
    """
    return cls in type(construct).__mro__


@dataclass
class _Target:
    scope: Construct
    stack: Stack
    estimate: int
    consumers: int = 0
    #: A shard's estimate is exact once recounted: only consumers go into a shard, and each
    #: one's resources are counted as it is placed. The fan-out's own stack is the user's and
    #: may grow between consumers: it is recounted each time.
    exact: bool = False

    def recount_near(self, budget: int) -> None:
        """Count the stack for real when the estimate comes within the margin of ``budget``."""
        if self.exact or self.estimate <= budget - RECOUNT_MARGIN:
            return
        self.estimate = count_resources(self.stack)
        self.exact = isinstance(self.scope, ConsumersShard)


@dataclass
class StablePlacement:
    """A consumer's stack from its id alone; a stack over its budget is a synth-time error.

    Parameters
    ----------
    owner:
        The fan-out; shards are created as its children.
    home:
        The scope consumers go into when ``shards`` is None.
    shards:
        Number of nested stacks consumers are spread over by :func:`jump_hash` of their id;
        None: every consumer in the fan-out's own stack.
    consumers_per_stack, resource_budget:
        Caps on one template; exceeding either is an ``EventFanoutConfigError``.

    """

    owner: Construct
    home: Construct
    shards_wanted: int | None = None
    consumers_per_stack: int | None = None
    resource_budget: int = DEFAULT_RESOURCE_BUDGET
    shards: list[ConsumersShard] = field(default_factory=list)
    _targets: dict[int, _Target] = field(default_factory=dict)
    _by_consumer: dict[str, int] = field(default_factory=dict)
    _current: _Target | None = None
    _per_consumer: int = ASSUMED_CONSUMER_RESOURCES
    _measured: bool = False

    def next_scope(self, consumer_id: str) -> Construct:
        """The scope of ``consumer_id``: the fan-out's stack, or shard ``jump_hash(id, N) + 1``."""
        index = 0 if self.shards_wanted is None else jump_hash(consumer_id, self.shards_wanted) + 1
        target = self._targets.get(index)
        if target is None:
            if index == 0:
                stack = Stack.of(self.home)
                target = _Target(self.home, stack, count_resources(stack))
            else:
                shard = ConsumersShard(self.owner, f"ConsumersShard{index}")
                self.shards.append(shard)
                target = _Target(shard, shard, 0)
            self._targets[index] = target
        self._check_room(consumer_id, index, target)
        self._by_consumer[consumer_id] = index
        self._current = target
        return target.scope

    def placed(self, created: list[Construct], extra: int = 0) -> None:
        """Count what the consumer just created added to its stack."""
        target = self._current
        assert target is not None, "placed() before next_scope()"
        target.consumers += 1
        added = sum(count_resources(c) for c in created) + extra
        self._per_consumer = max(self._per_consumer, added) if self._measured else added
        self._measured = True
        target.estimate += added

    def _check_room(self, consumer_id: str, index: int, target: _Target) -> None:
        over_count = (
            self.consumers_per_stack is not None and target.consumers >= self.consumers_per_stack
        )
        if not over_count:
            target.recount_near(self.resource_budget - self._per_consumer)
        over_budget = target.estimate + self._per_consumer > self.resource_budget
        if not (over_count or over_budget):
            return
        where = "the fan-out's stack" if index == 0 else f"ConsumersShard{index}"
        limit = (
            f"consumers_per_stack ({self.consumers_per_stack})"
            if over_count
            else f"resource_budget ({self.resource_budget} resources; about "
            f"{target.estimate + self._per_consumer} with it)"
        )
        if self.shards_wanted is None:
            fix = (
                "pass shards=N to EventFanout: consumers are spread over N nested stacks by a "
                "stable hash of their ids, so adding or removing one never moves another. "
                "Consumers already deployed in the fan-out's stack move once (new queues and "
                "idempotency tables: drain their queues first). Or pass "
                "allow_consumer_moves=True for the automatic fill in the order consumers are "
                "added (removing one then moves the ones after it)"
            )
        else:
            grown = self.shards_wanted + 1
            moving = sorted(
                name
                for name in [*self._by_consumer, consumer_id]
                if jump_hash(name, grown) == grown - 1
            )
            fix = (
                f"raise shards to {grown}; that moves only the consumers that land in the new "
                f"ConsumersShard{grown} (of those added so far: {', '.join(moving) or 'none'}), "
                "whose queues and idempotency tables are replaced: drain them first"
            )
        raise EventFanoutConfigError(
            [
                ConfigProblem(
                    self.owner.node.path,
                    "consumer_id",
                    consumer_id,
                    f"would take {where} past {limit}",
                    fix,
                )
            ]
        )


@dataclass
class FillingPlacement:
    """Fills the fan-out's stack, then each shard, in the order consumers are added.

    Only with ``allow_consumer_moves=True``: removing or inserting a consumer moves the ones
    placed after it into other stacks.

    Parameters
    ----------
    owner:
        The fan-out; shards are created as its children.
    home:
        The scope consumers go into while the fan-out's own stack has room.
    consumers_per_stack:
        Fixed number of consumers per stack (the fan-out's own included); ``None`` decides by
        counting resources against ``resource_budget``.
    resource_budget:
        Resources per template the automatic mode fills up to.

    """

    owner: Construct
    home: Construct
    consumers_per_stack: int | None = None
    resource_budget: int = DEFAULT_RESOURCE_BUDGET
    shards: list[ConsumersShard] = field(default_factory=list)
    _target: _Target | None = None
    _per_consumer: int = ASSUMED_CONSUMER_RESOURCES
    _measured: bool = False

    def next_scope(self, consumer_id: str) -> Construct:
        """The scope the next consumer (and a factory-built handler) should be created in."""
        target = self._target
        if target is None:
            stack = Stack.of(self.home)
            estimate = count_resources(stack) if self.consumers_per_stack is None else 0
            target = self._target = _Target(self.home, stack, estimate)
        if not self._fits(target):
            shard = ConsumersShard(self.owner, f"ConsumersShard{len(self.shards) + 1}")
            self.shards.append(shard)
            target = self._target = _Target(shard, shard, 0)
        return target.scope

    def placed(self, created: list[Construct], extra: int = 0) -> None:
        """Record a consumer just created in :meth:`next_scope`'s scope.

        ``created``: the consumer and, when a factory built it there, its handler's scope (the
        event source mapping is a child of the function). ``extra``: resources added to the
        target stack outside those subtrees.
        """
        target = self._target
        assert target is not None, "placed() before next_scope()"
        target.consumers += 1
        if self.consumers_per_stack is None:
            added = sum(count_resources(c) for c in created) + extra
            self._per_consumer = max(self._per_consumer, added) if self._measured else added
            self._measured = True
            target.estimate += added

    def _fits(self, target: _Target) -> bool:
        if self.consumers_per_stack is not None:
            return target.consumers < self.consumers_per_stack
        if target.consumers == 0 and target.scope is not self.home:
            return True  # a fresh shard takes at least one consumer
        target.recount_near(self.resource_budget - self._per_consumer)
        return target.estimate + self._per_consumer <= self.resource_budget
