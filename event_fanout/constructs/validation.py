"""Collects every invalid argument of one construct before raising once.

Checks skip unresolved tokens: a value only known at deploy time cannot be judged at synth.

Every jsii call is a round trip to the Node.js kernel (about half a millisecond on a 2-core
machine), and a fan-out validates a dozen arguments per consumer: the helpers here avoid the
calls a passing check does not need (the construct path and human-readable limits are only
computed for an error; a Duration's seconds are read once per Duration object).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from aws_cdk import Duration, Token
from constructs import Construct

from event_fanout.constructs.lookups import jsii_identity
from event_fanout.errors import ConfigProblem, EventFanoutConfigError


class Validator:
    """Gathers ``ConfigProblem``s for one construct and raises them together."""

    def __init__(self, scope: Construct) -> None:
        self._scope = scope
        self._problems: list[ConfigProblem] = []

    def require(self, ok: bool, prop: str, value: object, expected: str, fix: str = "") -> None:
        """Record a problem unless ``ok``."""
        if not ok:
            self._problems.append(ConfigProblem(self._scope.node.path, prop, value, expected, fix))

    def int_range(self, prop: str, value: int | None, low: int, high: int, fix: str = "") -> None:
        """Check an optional count lies in ``[low, high]`` (AWS's documented limits)."""
        if value is None or _is_token_number(value):
            return
        self.require(
            low <= value <= high,
            prop,
            value,
            f"must be between {low} and {high}",
            fix,
        )

    def seconds_range(
        self, prop: str, value: Duration | None, low: int, high: int, fix: str = ""
    ) -> None:
        """Check an optional Duration lies in ``[low, high]`` seconds, whole seconds only."""
        seconds = seconds_of(value)
        if seconds is None or low <= seconds <= high:
            return
        self.require(False, prop, value, f"must be between {_human(low)} and {_human(high)}", fix)

    def check(
        self, prop: str, value: object, predicate: Callable[[], bool], expected: str, fix: str = ""
    ) -> None:
        """Record a problem when ``predicate`` is false (evaluated lazily, after token checks)."""
        self.require(predicate(), prop, value, expected, fix)

    def raise_if_any(self) -> None:
        """Raise every collected problem at once."""
        if self._problems:
            raise EventFanoutConfigError(self._problems)


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
    result = None if seconds is None or _is_token_number(seconds) else int(seconds)
    if key is not None:
        _SECONDS[key] = result
    return result


#: ``seconds_of`` per Duration (immutable), keyed by its jsii reference: defaults are
#: module-level Durations shared by every consumer, and a function's ``timeout`` comes back as a
#: new proxy of the Duration it was given. Most lookups cost no jsii call.
_SECONDS: Final[dict[str, int | None]] = {}


def _is_token_number(value: float) -> bool:
    """Whether a number is a CDK token; a Python ``int`` never is (number tokens are floats).

    jsii hands back a whole JavaScript number as an ``int``: only a float needs the kernel call.
    """
    if isinstance(value, int):
        return False
    return bool(Token.is_unresolved(value))


def _human(seconds: int) -> str:
    return Duration.seconds(seconds).to_human_string()
