"""Where a fan-out puts its next consumer: its own stack while it fits, then nested stacks.

CloudFormation refuses a template with more than 500 resources. One consumer is about a dozen
resources (two queues and their policies, rule, mapping, table, five alarms) plus its function
(function, role, policy, log group), so a single stack holds a few dozen consumers. Past that,
consumers go into ``aws_cdk.NestedStack``s named ``ConsumersShard1``, ``ConsumersShard2``, ...
under the fan-out; CDK wires the references that cross the boundary (bus name, undeliverable
queue ARN, alarm topic ARN) as nested-stack parameters and outputs.

Counting is cheap on purpose: a full walk of the construct tree per consumer would cost a jsii
round trip per construct. The fan-out's stack is counted once, when the first consumer is
added; after that each consumer's resources are counted in its own subtree (one call), and a
full recount runs only when the estimate comes within ``RECOUNT_MARGIN`` of the budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import CfnResource, NestedStack, Stack
from constructs import Construct

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

    Nothing but consumers goes in; its id (``ConsumersShard<n>``) is stable, so a deployed
    consumer keeps its shard as long as consumers are only ever appended.
    """


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


@dataclass
class ConsumerPlacement:
    """Decides, consumer by consumer, which stack (the fan-out's or a shard) receives it.

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

    def next_scope(self) -> Construct:
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
        if target.estimate + self._per_consumer > self.resource_budget - RECOUNT_MARGIN:
            target.estimate = count_resources(target.stack)
        return target.estimate + self._per_consumer <= self.resource_budget
