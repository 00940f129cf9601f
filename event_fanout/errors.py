"""The one exception type every invalid configuration raises, at synth time.

A fan-out misconfigured in production fails quietly (a message that never reaches its DLQ, a
visibility timeout shorter than the function, ...). Refusing to synthesize is cheaper, provided
the message says exactly which construct, which argument, what was given and what to do instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class ConfigProblem:
    """One invalid argument: where, which, what was given, what is allowed, how to fix it."""

    path: str
    prop: str
    value: object
    expected: str
    fix: str = ""

    def __str__(self) -> str:
        message = f"{self.path}: {self.prop} {self.expected}, got {_show(self.value)}."
        return f"{message} Fix: {self.fix}" if self.fix else message


class EventFanoutConfigError(ValueError):
    """Raised at synth time when a construct is given arguments that cannot work in AWS.

    It carries every problem found in one construct, so a user fixes them in one pass
    instead of one synth per mistake.
    """

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        lines = [str(problem) for problem in problems]
        head = "Invalid event fan-out configuration" if len(lines) > 1 else lines[0]
        super().__init__(head if len(lines) == 1 else head + ":\n  - " + "\n  - ".join(lines))


def _show(value: object) -> str:
    """Render a value the way a user would recognise it.

    Durations as human text, constructs by their path (their repr is a memory address).
    """
    if isinstance(value, float) and _is_token(value):
        return "a token (a value known only at deploy time)"
    to_human = getattr(value, "to_human_string", None)
    if callable(to_human):
        try:
            return str(to_human())
        except Exception:  # an unresolved token cannot be rendered; show it raw
            return repr(value)
    if isinstance(value, Enum):
        return f"{type(value).__name__}.{value.name}"
    node = getattr(value, "node", None)
    if node is not None and hasattr(node, "path"):
        return f"{type(value).__name__} at {node.path!r}"
    shown = repr(value)
    # An object without a useful repr ("<... object at 0x7f...>"): its class names it.
    return f"a {type(value).__name__}" if " object at 0x" in shown else shown


def _is_token(value: float) -> bool:
    """Whether ``value`` is a CDK number token (an encoded deploy-time value, not a number)."""
    from aws_cdk import Token

    return bool(Token.is_unresolved(value))
