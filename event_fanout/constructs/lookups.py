"""The jsii shortcuts that pay: facts read once instead of once per consumer.

In Python every ``Stack.of``, ``stack.region`` or ``duration.to_seconds()`` is a request to the
Node.js jsii kernel and back. A fan-out asks the same questions for every consumer (all
consumers of one fan-out share a scope, a stack, the default Durations and usually a runtime),
so these three answers are cached. Together they save about 5 % of synth time at 50 consumers
(paired runs of ``benchmarks/synth_comparison.py``, docs/performance.md); every other lookup
the constructs make is the plain aws-cdk-lib call, since caching it saved under 1 % each.

The cached facts never change once an object exists: a construct cannot move to another
parent, a stack's account, region and partition are fixed when it is created, and Durations
and runtimes are immutable.

Objects created on the Node.js side (a function's ``runtime`` and ``timeout``, static members
such as ``Runtime.PYTHON_3_14``, every ``Duration``) come back as a new Python proxy on every
read, so Python identity cannot key them: their caches key by :func:`jsii_identity`, the
kernel's reference to the JavaScript object (never reused within a process). Stacks key a
weak dictionary: the cache does not keep an app alive after its last use (tests build many).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Final

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_lambda as lambda_
from constructs import Construct


@dataclass(frozen=True)
class StackFacts:
    """What consumers read from their stack, read once."""

    stack: Stack
    partition: str
    region: str
    account: str


_STACK_OF: Final[weakref.WeakKeyDictionary[Construct, StackFacts]] = weakref.WeakKeyDictionary()


def stack_facts(scope: Construct) -> StackFacts:
    """``Stack.of(scope)`` with its partition, region and account, cached per scope."""
    facts = _STACK_OF.get(scope)
    if facts is None:
        stack = Stack.of(scope)
        facts = StackFacts(stack, stack.partition, stack.region, stack.account)
        _STACK_OF[scope] = facts
    return facts


def seconds_of(value: Duration | None) -> int | None:
    """Return whole seconds of a Duration, or None when absent or unresolved (a token)."""
    if value is None:
        return None
    key = jsii_identity(value)
    if key is not None and key in _SECONDS:
        return _SECONDS[key]
    try:
        seconds = value.to_seconds()
    except RuntimeError:
        # A token Duration in another unit (``Duration.days(param)``) cannot be converted.
        seconds = None
    result = None if seconds is None or is_token_number(seconds) else int(seconds)
    if key is not None:
        _SECONDS[key] = result
    return result


#: ``seconds_of`` per Duration, keyed by its jsii reference: defaults are module-level Durations
#: shared by every consumer, and a function's ``timeout`` comes back as a new proxy of the
#: Duration it was given.
_SECONDS: Final[dict[str, int | None]] = {}


def is_token_number(value: float) -> bool:
    """Whether a number is a CDK token; a Python ``int`` never is (number tokens are floats).

    jsii hands back a whole JavaScript number as an ``int``: only a float needs the kernel call.
    """
    if isinstance(value, int):
        return False
    return bool(Token.is_unresolved(value))


@dataclass(frozen=True)
class RuntimeFacts:
    """What the layers need from a Lambda runtime (both fixed when the runtime is created)."""

    name: str
    family: lambda_.RuntimeFamily | None


_RUNTIMES: Final[dict[str, RuntimeFacts]] = {}


def runtime_facts(runtime: lambda_.Runtime) -> RuntimeFacts:
    """``runtime.name`` and ``runtime.family``, read once per runtime object."""
    key = jsii_identity(runtime)
    facts = _RUNTIMES.get(key) if key else None
    if facts is None:
        facts = RuntimeFacts(runtime.name, runtime.family)
        if key:
            _RUNTIMES[key] = facts
    return facts


def jsii_identity(obj: object) -> str | None:
    """The jsii kernel's reference to the JavaScript object behind ``obj`` (None if it has none).

    Unique per object for the life of the process (the kernel numbers objects and never reuses
    a number), whichever Python proxy carries it.
    """
    ref = getattr(obj, "__jsii_ref__", None)
    identity = getattr(ref, "ref", None)
    return identity if isinstance(identity, str) else None
