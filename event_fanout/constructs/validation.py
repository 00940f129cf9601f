"""Collects every invalid argument of one construct before raising once.

Checks skip unresolved tokens: a value only known at deploy time cannot be judged at synth.

The fan-out's own arguments are checked with it; a consumer's go through the rule table of
``consumer_rules``.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import Duration
from constructs import Construct

from event_fanout.constructs.lookups import is_token_number, seconds_of
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
        if value is None or is_token_number(value):
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

    def extend(self, problems: list[ConfigProblem]) -> None:
        """Record problems found by a rule function."""
        self._problems.extend(problems)

    def raise_if_any(self) -> None:
        """Raise every collected problem at once."""
        if self._problems:
            raise EventFanoutConfigError(self._problems)


def _human(seconds: int) -> str:
    return Duration.seconds(seconds).to_human_string()
