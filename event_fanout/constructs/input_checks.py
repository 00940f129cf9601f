"""Checks of what a user passes, before anything is built: types, units, event patterns.

Each is a rule without side effects that returns the problems it finds; the constructs collect
them and raise one ``EventFanoutConfigError``. Type checks come first: a value of the wrong type
would otherwise fail deep inside aws-cdk-lib as a raw jsii error, or be silently misread (a
float ``batch_size``, a ``Duration`` in milliseconds rounded down to whole seconds).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from aws_cdk import Duration, Stack, Token
from aws_cdk import aws_events as events
from constructs import Construct

from event_fanout.errors import ConfigProblem

Kind = Literal["int", "duration", "bool", "actions"]


@dataclass(frozen=True)
class Expected:
    """What one argument must be: its kind, and whether ``None`` is allowed."""

    prop: str
    kind: Kind
    optional: bool = False


#: The consumer's arguments whose type is checked, and what each must be.
CONSUMER_ARGUMENTS: Final = (
    Expected("batch_size", "int"),
    Expected("max_batching_window", "duration", optional=True),
    Expected("max_concurrency", "int", optional=True),
    Expected("max_receive_count", "int"),
    Expected("visibility_timeout", "duration", optional=True),
    Expected("retention_period", "duration"),
    Expected("dead_letter_retention_period", "duration"),
    Expected("fifo", "bool"),
    Expected("max_message_age", "duration"),
    Expected("alarm_actions", "actions"),
    Expected("retry_attempts", "int"),
    Expected("max_event_age", "duration"),
    Expected("attach_runtime_layers", "bool"),
    Expected("powertools_layer_version", "int"),
    Expected("tracing", "bool"),
)
#: The fan-out's arguments whose type is checked.
FANOUT_ARGUMENTS: Final = (
    Expected("archive_retention", "duration", optional=True),
    Expected("alarm_actions", "actions"),
    Expected("undeliverable_retention_period", "duration"),
)

_EXAMPLES: Final[Mapping[Kind, str]] = {
    "int": "a whole number such as 10",
    "duration": "a Duration such as Duration.seconds(30)",
    "bool": "True or False",
    "actions": "a list of alarm actions such as [SnsAction(topic)]",
}


def type_problems(
    path: str, values: Mapping[str, Any], expected: Iterable[Expected]
) -> list[ConfigProblem]:
    """One problem per argument whose value is not of the kind it must be."""
    problems = []
    for rule in expected:
        value = values[rule.prop]
        if value is None and rule.optional:
            continue
        if not _is_kind(value, rule.kind):
            allowed = _EXAMPLES[rule.kind] + (" or None" if rule.optional else "")
            problems.append(
                ConfigProblem(
                    path,
                    rule.prop,
                    value,
                    f"must be {allowed}, not a {type(value).__name__}",
                    _type_fix(rule, value),
                )
            )
    return problems


def _is_kind(value: Any, kind: Kind) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and _unresolved(value))
    if kind == "duration":
        return isinstance(value, Duration)
    return isinstance(value, (list, tuple)) and all(hasattr(a, "bind") for a in value)


def _type_fix(rule: Expected, value: Any) -> str:
    if rule.kind == "int" and isinstance(value, Duration):
        return f"pass {rule.prop} as a number of items, not a Duration"
    if rule.kind == "int" and isinstance(value, float) and value.is_integer():
        return f"pass {rule.prop}={int(value)}"
    if rule.kind == "duration" and isinstance(value, (int, float)):
        return f"pass {rule.prop}=Duration.seconds({value:g})"
    if rule.kind == "actions" and hasattr(value, "bind"):
        return f"pass a list: {rule.prop}=[...] with the action in it"
    return f"pass {_EXAMPLES[rule.kind]}"


def whole_seconds_problems(
    path: str, values: Mapping[str, Any], props: Iterable[str]
) -> list[ConfigProblem]:
    """Durations AWS takes in whole seconds, given in milliseconds or fractions."""
    problems = []
    for prop in props:
        value = values[prop]
        if not isinstance(value, Duration):
            continue
        try:
            seconds = value.to_seconds(integral=False)
        except RuntimeError:
            continue  # a token in another unit: judged at deploy time
        if _unresolved(seconds) or float(seconds).is_integer():
            continue
        problems.append(
            ConfigProblem(
                path,
                prop,
                value,
                f"must be a whole number of seconds ({seconds:g} s is not)",
                f"pass {prop}=Duration.seconds({round(seconds)})",
            )
        )
    return problems


# -- event patterns ------------------------------------------------------------------------

#: EventPattern fields and the name EventBridge gives each.
_PATTERN_FIELDS: Final = {
    "source": "source",
    "detail_type": "detail-type",
    "account": "account",
    "region": "region",
    "resources": "resources",
    "id": "id",
    "time": "time",
    "version": "version",
}
#: Content-filter operators EventBridge knows (its event-pattern documentation).
CONTENT_FILTERS: Final = frozenset(
    {
        "prefix",
        "suffix",
        "anything-but",
        "numeric",
        "exists",
        "cidr",
        "equals-ignore-case",
        "wildcard",
    }
)
#: EventBridge's limit on an event pattern's length (characters of its JSON).
MAX_PATTERN_LENGTH: Final = 2048


def pattern_problems(scope: Construct, path: str, pattern: Any) -> list[ConfigProblem]:
    """What EventBridge would reject in ``pattern`` at deploy time (or CDK with a jsii dump)."""
    if not isinstance(pattern, events.EventPattern):
        return [
            ConfigProblem(
                path,
                "event_pattern",
                pattern,
                "must be an aws_events.EventPattern",
                'e.g. EventPattern(source=["ads.campaigns"])',
            )
        ]
    problems = []
    for attribute in _PATTERN_FIELDS:
        value = getattr(pattern, attribute)
        if value is not None and not _is_list_or_token(value):
            problems.append(
                ConfigProblem(
                    path,
                    f"event_pattern.{attribute}",
                    value,
                    "must be a list of values (every leaf of an event pattern is a list)",
                    f"pass {attribute}=[{value!r}]",
                )
            )
    if pattern.detail is not None:
        problems += _detail_problems(path, "event_pattern.detail", pattern.detail)
    if not problems:
        length = _rendered_length(scope, pattern)
        if length is not None and length > MAX_PATTERN_LENGTH:
            problems.append(
                ConfigProblem(
                    path,
                    "event_pattern",
                    f"{length} characters of JSON",
                    f"must be at most {MAX_PATTERN_LENGTH} characters (EventBridge's limit)",
                    "match on fewer values (a prefix instead of a list, say), or split the "
                    "consumer into two rules",
                )
            )
    return problems


def _detail_problems(path: str, where: str, detail: Any) -> list[ConfigProblem]:
    if _unresolved(detail):
        return []
    if not isinstance(detail, Mapping):
        return [ConfigProblem(path, where, detail, "must be a mapping of field names to lists")]
    problems = []
    for key, value in detail.items():
        here = f"{where}.{key}"
        if key == "$or":
            if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
                problems.append(
                    ConfigProblem(path, here, value, "must be a list of patterns (mappings)")
                )
                continue
            for index, alternative in enumerate(value):
                problems += _detail_problems(path, f"{here}[{index}]", alternative)
        elif isinstance(value, Mapping):
            problems += _detail_problems(path, here, value)
        elif not _is_list_or_token(value):
            problems.append(
                ConfigProblem(
                    path,
                    here,
                    value,
                    "must be a list of values (every leaf of an event pattern is a list)",
                    f'pass {{"{key}": [{value!r}]}}',
                )
            )
        elif isinstance(value, list):
            problems += _filter_problems(path, here, value)
    return problems


def _filter_problems(path: str, where: str, values: Sequence[Any]) -> list[ConfigProblem]:
    problems = []
    for value in values:
        if not isinstance(value, Mapping):
            continue
        unknown = sorted(set(value) - CONTENT_FILTERS)
        if unknown:
            problems.append(
                ConfigProblem(
                    path,
                    where,
                    dict(value),
                    f"uses unknown content-filter operator(s) {', '.join(map(repr, unknown))}",
                    f"use one of {', '.join(sorted(CONTENT_FILTERS))} (or events.Match.*)",
                )
            )
    return problems


def _rendered_length(scope: Construct, pattern: events.EventPattern) -> int | None:
    """Characters of the pattern's JSON as the rule will carry it; None while it has tokens."""
    document: dict[str, Any] = {}
    for attribute, name in _PATTERN_FIELDS.items():
        value = getattr(pattern, attribute)
        if value is not None:
            document[name] = value
    if pattern.detail is not None:
        document["detail"] = pattern.detail
    resolved = Stack.of(scope).resolve(document)
    text = json.dumps(resolved, separators=(",", ":"))
    return None if "Fn::" in text or '"Ref"' in text else len(text)


def _is_list_or_token(value: Any) -> bool:
    return isinstance(value, list) or _unresolved(value)


def _unresolved(value: Any) -> bool:
    try:
        return bool(Token.is_unresolved(value))
    except Exception:  # a value jsii cannot pass (an arbitrary object): not a token
        return False


# -- buses ------------------------------------------------------------------------------------


def bus_location_problems(
    scope: Construct, path: str, event_bus: events.IEventBus
) -> list[ConfigProblem]:
    """A rule can only be created on a bus of its own account and region."""
    stack = Stack.of(scope)
    bus_env = event_bus.env
    return [
        ConfigProblem(
            path,
            "event_bus",
            event_bus,
            f"is in {what} {theirs}, but this stack deploys to {what} {ours}: the rule (and the "
            "archive) would be created on a bus of this stack's own account and region",
            "deploy the fan-out in the bus's account and region; for a central bus of another "
            "account, forward its events to a bus of this account: EventForwarder on the "
            "central side, EventFanout(receive_from=[CentralBus(...)]) here "
            "(docs/cross-account.md)",
        )
        for what, theirs, ours in (
            ("account", bus_env.account, stack.account),
            ("region", bus_env.region, stack.region),
        )
        if not _unresolved(theirs) and not _unresolved(ours) and theirs != ours
    ]


# -- SQS message group ids -------------------------------------------------------------------

#: What an EventBridge SQS target sends as MessageGroupId: letters, digits and punctuation,
#: 1-100 characters (SQS takes 128; ``SqsParameters.MessageGroupId`` at most 100).
MESSAGE_GROUP_ID: Final = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,100}")
