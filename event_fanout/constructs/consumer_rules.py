"""What a consumer's arguments must satisfy: a table of rules, judged on facts read once.

Each :class:`Rule` names an argument, a condition and the message a user gets when it fails; a
condition holds when it cannot be judged at synth (a token). :func:`consumer_problems` runs the
whole table and returns every problem, so a user fixes them in one pass. No rule has a side
effect: reading the construct tree happens once, in :func:`consumer_facts`; the warnings a legal
but suspicious configuration earns are a second table, :data:`WARNINGS`, that the construct
applies.

Rules run in two stages. Types, units and the event pattern first (``input_checks``): a value
of the wrong type cannot be judged further. Then this table, over the values as AWS reads them
(seconds, counts, the handler's runtime, the bus's account and region).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import jmespath
import jmespath.exceptions
from aws_cdk import Duration, Token
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from event_fanout.constructs.alarm_options import alarm_option_problems
from event_fanout.constructs.encryption import encryption_problems
from event_fanout.constructs.input_checks import (
    CONSUMER_ARGUMENTS,
    MESSAGE_GROUP_ID,
    bus_location_problems,
    pattern_problems,
    type_problems,
    whole_seconds_problems,
)
from event_fanout.constructs.lifetimes import (
    message_lifetime_seconds,
    redrive_max_receive_count,
    visibility_timeout_seconds,
)
from event_fanout.constructs.lookups import is_token_number, seconds_of
from event_fanout.constructs.options import DEFAULT_IDEMPOTENCY, ConsumerProps, Idempotency
from event_fanout.constructs.powertools_layer import SUPPORTED_PYTHON
from event_fanout.errors import ConfigProblem

#: Lambda's timeout when a function does not set one (seconds).
LAMBDA_DEFAULT_TIMEOUT_SECONDS: Final = 3
MAX_VISIBILITY_TIMEOUT_SECONDS: Final = 12 * 3600
MIN_RETENTION_SECONDS: Final = 60
MAX_RETENTION_SECONDS: Final = 14 * 24 * 3600
MAX_BATCHING_WINDOW_SECONDS: Final = 300
MAX_EVENT_AGE_RANGE: Final = (60, 86_400)
RETRY_ATTEMPTS_RANGE: Final = (0, 185)
#: Construct id of the marker a consumer leaves on its function: a function serves one consumer
#: (its environment and the visibility timeout are per consumer).
BOUND_MARKER: Final = "EventFanoutConsumer"
#: Construct ids CDK treats specially (dropped from logical ids and paths).
_RESERVED_IDS: Final = frozenset({"Default", "Resource"})
#: The Duration arguments, read once in whole seconds.
DURATION_ARGUMENTS: Final = (
    "max_batching_window",
    "visibility_timeout",
    "retention_period",
    "dead_letter_retention_period",
    "max_message_age",
    "max_event_age",
)


@dataclass(frozen=True)
class ConsumerFacts:
    """A consumer's props and what the rules read from the construct tree, read once.

    Seconds are ``None`` for an absent Duration or a token (judged at deploy time).
    """

    props: ConsumerProps
    path: str
    name: str
    seconds: Mapping[str, int | None]
    #: The handler's timeout in seconds (Lambda's 3 s if unset); None when it is a token.
    function_timeout: int | None
    #: The handler is an ``aws_lambda.Function`` of this app (not imported).
    function_is_local: bool
    already_bound: bool
    #: The handler's runtime name and whether it is Python; None for an imported function.
    runtime: tuple[str, bool] | None

    @property
    def window(self) -> int:
        """The batching window in seconds (0 without one)."""
        return self.seconds["max_batching_window"] or 0

    @property
    def is_python(self) -> bool:
        """The handler runs a Python runtime (the one ``event_fanout.runtime`` serves)."""
        return self.runtime is not None and self.runtime[1]

    @property
    def derived_visibility(self) -> int | None:
        """6 x function timeout + batching window; None while the timeout is a token."""
        if self.function_timeout is None:
            return None
        return visibility_timeout_seconds(self.function_timeout, self.window)

    @property
    def message_lifetime(self) -> int | None:
        """The longest a message can still be delivered; None while a retention is a token.

        A standard queue's lifetime is its DLQ's retention alone (validated to be the longer).
        """
        retention = self.seconds["retention_period"]
        dlq = self.seconds["dead_letter_retention_period"]
        if dlq is None or (self.props.fifo and retention is None):
            return None
        return message_lifetime_seconds(
            fifo=self.props.fifo,
            retention_seconds=retention or 0,
            dead_letter_retention_seconds=dlq,
        )


def consumer_facts(path: str, name: str, props: ConsumerProps) -> ConsumerFacts:
    """Read what the rules need from ``props`` and the construct tree (no side effects)."""
    handler = props.handler
    function = handler if isinstance(handler, lambda_.Function) else None
    timeout = function.timeout if function is not None else None
    runtime = function.runtime if function is not None else None
    return ConsumerFacts(
        props=props,
        path=path,
        name=name,
        seconds={prop: seconds_of(getattr(props, prop)) for prop in DURATION_ARGUMENTS},
        function_timeout=LAMBDA_DEFAULT_TIMEOUT_SECONDS if timeout is None else seconds_of(timeout),
        function_is_local=function is not None,
        already_bound=handler.node.try_find_child(BOUND_MARKER) is not None,
        runtime=(
            None
            if runtime is None
            else (runtime.name, runtime.family == lambda_.RuntimeFamily.PYTHON)
        ),
    )


# -- the rule type -----------------------------------------------------------------------------

Text = str | Callable[[ConsumerFacts], str]


@dataclass(frozen=True)
class Rule:
    """``prop`` must satisfy ``holds``; otherwise the user reads ``expected`` and ``fix``.

    ``value`` picks what the message shows (default: the prop's value); ``expected`` and ``fix``
    may be functions of the facts, evaluated only for a failing rule.
    """

    prop: str
    holds: Callable[[ConsumerFacts], bool]
    expected: Text
    fix: Text = ""
    value: Callable[[ConsumerFacts], object] | None = None

    def problem(self, facts: ConsumerFacts) -> ConfigProblem | None:
        """The problem this rule finds in ``facts``, or None."""
        if self.holds(facts):
            return None
        value = self.value(facts) if self.value else _prop_value(facts, self.prop)
        return ConfigProblem(
            facts.path, self.prop, value, _text(self.expected, facts), _text(self.fix, facts)
        )


def _text(text: Text, facts: ConsumerFacts) -> str:
    return text if isinstance(text, str) else text(facts)


def _prop_value(facts: ConsumerFacts, prop: str) -> object:
    target: object = facts.props
    for part in prop.split("."):
        target = getattr(target, part, None)
    return target


def count_between(
    prop: str, low: int, high: int | Callable[[ConsumerFacts], int], fix: Text = ""
) -> Rule:
    """An optional count within AWS's documented ``[low, high]`` (a token passes)."""

    def upper(facts: ConsumerFacts) -> int:
        return high if isinstance(high, int) else high(facts)

    def holds(facts: ConsumerFacts) -> bool:
        value = _prop_value(facts, prop)
        if not isinstance(value, int | float) or is_token_number(value):
            return True
        return low <= value <= upper(facts)

    return Rule(prop, holds, lambda f: f"must be between {low} and {upper(f)}", fix)


def seconds_between(prop: str, low: int, high: int, fix: str = "") -> Rule:
    """An optional Duration within ``[low, high]`` seconds (a token passes)."""

    def holds(facts: ConsumerFacts) -> bool:
        seconds = facts.seconds[prop]
        return seconds is None or low <= seconds <= high

    return Rule(prop, holds, f"must be between {_human(low)} and {_human(high)}", fix)


def _human(seconds: int) -> str:
    return str(Duration.seconds(seconds).to_human_string())


# -- the table ---------------------------------------------------------------------------------


def _idempotency(facts: ConsumerFacts) -> Idempotency | None:
    return facts.props.idempotency


def jmespath_problem(expression: str | None) -> str | None:
    """Why ``expression`` is not valid JMESPath (the parser's message), or None if it is."""
    if not expression or not expression.strip():
        return None
    try:
        jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as error:
        return " ".join(str(error).split())
    return None


def _literal_group(facts: ConsumerFacts) -> str | None:
    group = facts.props.message_group_id
    return None if group is None or Token.is_unresolved(group) else group


def _has_pattern_fields(facts: ConsumerFacts) -> bool:
    pattern = facts.props.event_pattern
    fields = (
        pattern.source,
        pattern.detail_type,
        pattern.detail,
        pattern.account,
        pattern.region,
        pattern.resources,
        pattern.id,
        pattern.time,
        pattern.version,
    )
    return any(bool(f) or Token.is_unresolved(f) for f in fields if f is not None)


def _idempotency_path_rule(prop: str) -> Rule:
    attribute = prop.removeprefix("idempotency.")

    def expression(facts: ConsumerFacts) -> str | None:
        options = _idempotency(facts)
        path = getattr(options, attribute) if options is not None else None
        return path if isinstance(path, str) else None

    return Rule(
        prop,
        lambda f: jmespath_problem(expression(f)) is None,
        lambda f: f"must be a valid JMESPath expression ({jmespath_problem(expression(f))})",
        'check brackets, commas and quoting, e.g. "[detail.campaignId, detail.version]" (try it '
        "with `python -c \"import jmespath; jmespath.compile('...')\"`)",
    )


def _fifo_expiry_is_computable(facts: ConsumerFacts) -> bool:
    options = _idempotency(facts)
    if options is None or not facts.props.fifo or options.expires_after is not None:
        return True
    return facts.message_lifetime is not None


def _explicit_visibility_covers_a_batch(facts: ConsumerFacts) -> bool:
    explicit = facts.seconds["visibility_timeout"]
    timeout = facts.function_timeout
    return explicit is None or timeout is None or explicit >= timeout + facts.window


def _handler_timeout(facts: ConsumerFacts) -> object:
    return getattr(facts.props.handler, "timeout", None)


def _shorter(short: str, long: str, facts: ConsumerFacts) -> bool:
    """Duration ``short`` is shorter than ``long`` (or one of them is a token)."""
    low, high = facts.seconds[short], facts.seconds[long]
    return low is None or high is None or low < high


def _human_retention(facts: ConsumerFacts) -> str:
    return str(facts.props.retention_period.to_human_string())


#: Every condition on a consumer's arguments, in the order their messages are listed.
RULES: Final[tuple[Rule, ...]] = (
    Rule(
        "construct_id",
        lambda f: (
            re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,63}", f.name) is not None
            and f.name not in _RESERVED_IDS
        ),
        "must be 1-64 letters and digits starting with a letter, and not "
        + " or ".join(sorted(_RESERVED_IDS)),
        "use a PascalCase name such as 'ReportingSync': it names the queues, the idempotency "
        "key prefix and the metrics",
        value=lambda f: f.name,
    ),
    Rule(
        "handler",
        lambda f: f.function_is_local,
        "must be an aws_lambda.Function defined in this app",
        "the construct derives the queue's visibility timeout from the function's timeout and "
        "sets its environment; an imported function offers neither",
    ),
    Rule(
        "handler",
        lambda f: not f.already_bound,
        "is already the handler of another fan-out consumer",
        "give each consumer its own function: the idempotency environment and the visibility "
        "timeout are per consumer",
        value=lambda f: f.props.handler.node.path,
    ),
    Rule(
        "event_pattern",
        _has_pattern_fields,
        "must match on at least one field (source, detail_type, detail, ...)",
        'e.g. EventPattern(source=["ads.campaigns"])',
    ),
    count_between(
        "batch_size",
        1,
        lambda f: 10 if f.props.fifo else 10_000,
        lambda f: "FIFO event sources take at most 10 records" if f.props.fifo else "",
    ),
    seconds_between("max_batching_window", 0, MAX_BATCHING_WINDOW_SECONDS),
    Rule(
        "batch_size",
        lambda f: (
            f.props.fifo
            or is_token_number(f.props.batch_size)
            or f.props.batch_size <= 10
            or f.window >= 1
        ),
        "above 10 requires max_batching_window of at least 1 second",
        "pass max_batching_window=Duration.seconds(1) or more, or batch_size<=10",
    ),
    Rule(
        "max_batching_window",
        lambda f: not (f.props.fifo and f.props.max_batching_window is not None),
        "is not supported by Lambda for FIFO queues",
        "drop max_batching_window for a FIFO consumer",
    ),
    count_between("max_concurrency", 2, 1000, "or None for no cap"),
    count_between("max_receive_count", 1, 1000),
    count_between("powertools_layer_version", 1, 10_000, "Powertools layer versions start at 1"),
    Rule(
        "handler.runtime",
        lambda f: (
            not f.props.attach_runtime_layers
            or f.runtime is None
            or not f.is_python
            or f.runtime[0] in SUPPORTED_PYTHON
        ),
        f"has no AWS-published Powertools v3 layer (it exists for {', '.join(SUPPORTED_PYTHON)})",
        "use a supported Python runtime, or pass attach_runtime_layers=False and ship "
        "Powertools and event_fanout.runtime with the function yourself",
        value=lambda f: f.runtime[0] if f.runtime else None,
    ),
    count_between("retry_attempts", *RETRY_ATTEMPTS_RANGE),
    seconds_between(
        "max_event_age",
        *MAX_EVENT_AGE_RANGE,
        "use Duration.minutes(1) to Duration.hours(24), EventBridge's retry window",
    ),
    seconds_between("retention_period", MIN_RETENTION_SECONDS, MAX_RETENTION_SECONDS),
    seconds_between("dead_letter_retention_period", MIN_RETENTION_SECONDS, MAX_RETENTION_SECONDS),
    Rule(
        "dead_letter_retention_period",
        lambda f: _shorter("retention_period", "dead_letter_retention_period", f),
        lambda f: (
            f"must be longer than retention_period ({_human_retention(f)}): SQS keeps a "
            "message's original enqueue time when it moves it to the DLQ"
        ),
        "raise dead_letter_retention_period (default 14 days) or lower retention_period",
    ),
    Rule(
        "max_message_age",
        lambda f: (f.seconds["max_message_age"] or 60) >= 60,
        "must be at least 1 minute (SQS publishes the metric once a minute)",
    ),
    Rule(
        "max_message_age",
        lambda f: _shorter("max_message_age", "retention_period", f),
        "must be shorter than retention_period: no message lives that long in the queue, so "
        "the lag alarm could never fire",
        "lower max_message_age (the age at which lag should page you), or raise retention_period",
    ),
    Rule(
        "message_group_id",
        lambda f: not f.props.fifo or bool(f.props.message_group_id),
        "is required when fifo=True",
        'pass message_group_id="<group>": EventBridge sends every event to a FIFO queue with '
        "one fixed group id",
    ),
    Rule(
        "message_group_id",
        lambda f: not f.props.fifo or not (_literal_group(f) or "").startswith("$"),
        "must be a fixed string: an EventBridge rule's SQS target cannot read it from the event "
        "(aws-cdk#32965)",
        "use a fixed group id, or EventBridge Pipes for per-key ordering",
    ),
    Rule(
        "message_group_id",
        lambda f: (
            _literal_group(f) is None
            or MESSAGE_GROUP_ID.fullmatch(_literal_group(f) or "") is not None
        ),
        "must be 1-100 letters, digits or punctuation (what EventBridge's SQS target sends)",
        "use a short name such as 'orders'",
    ),
    Rule(
        "idempotency.key_path",
        lambda f: (o := _idempotency(f)) is None or bool(o.key_path.strip()),
        "must be a non-empty JMESPath over the EventBridge event",
        'e.g. "id" or "[detail.campaignId, detail.version]"',
    ),
    _idempotency_path_rule("idempotency.key_path"),
    _idempotency_path_rule("idempotency.payload_validation_path"),
    Rule(
        "idempotency.key_prefix",
        lambda f: (
            (o := _idempotency(f)) is None
            or o.key_prefix is None
            or (bool(o.key_prefix.strip()) and len(o.key_prefix) <= 200)
        ),
        "must be a non-empty string of at most 200 characters",
        "use a stable name such as the consumer's id and its fan-out, e.g. 'Orders.Audit'",
    ),
    Rule(
        "idempotency.expires_after",
        lambda f: (o := _idempotency(f)) is None or (seconds_of(o.expires_after) or 60) >= 60,
        "must be at least 1 minute",
    ),
    Rule(
        "idempotency.expires_after",
        _fifo_expiry_is_computable,
        "must be given when a FIFO consumer's retention_period or dead_letter_retention_period "
        "is a token: its default is their sum, which CloudFormation cannot compute",
        "pass Idempotency(expires_after=Duration.days(...)) of at least the two retentions "
        "added up",
    ),
    Rule(
        "handler.timeout",
        lambda f: f.props.visibility_timeout is not None or f.function_timeout is not None,
        "is a token, so the visibility timeout (6 x timeout + batching window) cannot be derived "
        "at synth",
        "pass visibility_timeout= explicitly (at least 6 x the largest timeout the token can "
        "take + the batching window), or give the function a literal timeout",
        value=_handler_timeout,
    ),
    Rule(
        "handler.timeout",
        lambda f: (
            f.props.visibility_timeout is not None
            or (f.derived_visibility or 0) <= MAX_VISIBILITY_TIMEOUT_SECONDS
        ),
        lambda f: (
            "makes the visibility timeout 6 x timeout + batching window = "
            f"{f.derived_visibility} s, above SQS's 12-hour limit"
        ),
        "lower the function timeout or max_batching_window",
        value=_handler_timeout,
    ),
    Rule(
        "visibility_timeout",
        _explicit_visibility_covers_a_batch,
        lambda f: (
            "must be at least the function timeout + batching window "
            f"({(f.function_timeout or 0) + f.window} s), or a batch still running is handed out "
            "again"
        ),
        "omit visibility_timeout to use 6 x timeout + batching window",
    ),
    Rule(
        "visibility_timeout",
        lambda f: (f.seconds["visibility_timeout"] or 0) <= MAX_VISIBILITY_TIMEOUT_SECONDS,
        "must be at most 12 hours",
    ),
)


def input_problems(scope: Construct, path: str, props: ConsumerProps) -> list[ConfigProblem]:
    """The first stage: types, whole seconds and the event pattern."""
    values = {rule.prop: getattr(props, rule.prop) for rule in CONSUMER_ARGUMENTS}
    problems = type_problems(path, values, CONSUMER_ARGUMENTS)
    idempotency: object = props.idempotency
    whole_seconds = list(DURATION_ARGUMENTS)
    if not isinstance(idempotency, Idempotency | None):
        problems.append(
            ConfigProblem(
                path,
                "idempotency",
                idempotency,
                f"must be an Idempotency(...) or None, not a {type(idempotency).__name__}",
                'e.g. idempotency=Idempotency(key_path="detail.orderId")',
            )
        )
    elif idempotency is not None:
        values["idempotency.expires_after"] = idempotency.expires_after
        whole_seconds.append("idempotency.expires_after")
    values.update({prop: getattr(props, prop) for prop in DURATION_ARGUMENTS})
    problems += whole_seconds_problems(path, values, whole_seconds)
    problems += pattern_problems(scope, path, props.event_pattern)
    problems += alarm_option_problems(path, props.alarms)
    if props.tracing is True and not isinstance(props.handler, lambda_.Function):
        problems.append(
            ConfigProblem(
                path,
                "tracing",
                True,
                "needs a function defined in this app (its tracing is switched on here), not "
                f"a {type(props.handler).__name__}",
                "turn active tracing on where the function is defined, and pass tracing=False",
            )
        )
    return problems


def consumer_problems(scope: Construct, facts: ConsumerFacts) -> list[ConfigProblem]:
    """The second stage: every rule of :data:`RULES` that ``facts`` break.

    Then the checks a consumer shares with the fan-out: the bus's location, the encryption.
    """
    problems = [p for rule in RULES if (p := rule.problem(facts)) is not None]
    problems += bus_location_problems(scope, facts.path, facts.props.event_bus)
    problems += encryption_problems(facts.path, facts.props.encryption, facts.props.encryption_key)
    return problems


# -- warnings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthWarning:
    """A legal but suspicious configuration: the code CDK acknowledges it by, and the text."""

    code: str
    applies: Callable[[ConsumerFacts], bool]
    message: Callable[[ConsumerFacts], str]


def _visibility_below_guidance(facts: ConsumerFacts) -> bool:
    explicit = facts.seconds["visibility_timeout"]
    derived = facts.derived_visibility
    return explicit is not None and derived is not None and explicit < derived


def _expiry_below_lifetime(facts: ConsumerFacts) -> bool:
    options = _idempotency(facts)
    explicit = seconds_of(options.expires_after) if options is not None else None
    lifetime = facts.message_lifetime
    return explicit is not None and lifetime is not None and explicit < lifetime


def _expiry_message(facts: ConsumerFacts) -> str:
    options = _idempotency(facts)
    explicit = seconds_of(options.expires_after) if options is not None else None
    kind, how = (
        (
            "FIFO",
            "retention_period + dead_letter_retention_period: a FIFO DLQ resets the enqueue time",
        )
        if facts.props.fifo
        else ("standard", "dead_letter_retention_period: the DLQ keeps the original enqueue time")
    )
    return (
        f"idempotency.expires_after ({explicit} s) is shorter than the longest a message of this "
        f"{kind} queue can still be delivered ({facts.message_lifetime} s = {how}). A message "
        "redriven or redelivered after its key expired runs the handler again. Raise "
        "expires_after, or omit it to use the lifetime."
    )


def drops_default_idempotency(facts: ConsumerFacts) -> bool:
    """A non-Python handler keeps the default options: no table (the runtime is Python's)."""
    return (
        facts.props.idempotency is DEFAULT_IDEMPOTENCY
        and facts.runtime is not None
        and not facts.is_python
    )


#: What synth warns about, in order.
WARNINGS: Final[tuple[SynthWarning, ...]] = (
    SynthWarning(
        "event-fanout:visibility-timeout-below-guidance",
        _visibility_below_guidance,
        lambda f: (
            f"visibility_timeout {f.seconds['visibility_timeout']} s is below AWS's "
            f"guidance of 6 x function timeout + batching window ({f.derived_visibility} s): "
            "throttled retries may redeliver a batch that is still running."
        ),
    ),
    SynthWarning(
        "event-fanout:idempotency-expiry-below-message-lifetime",
        _expiry_below_lifetime,
        _expiry_message,
    ),
    SynthWarning(
        "event-fanout:non-python-handler",
        drops_default_idempotency,
        lambda f: (
            f"handler runs {f.runtime[0] if f.runtime else '?'}: event_fanout.runtime "
            "(idempotency, partial batch responses, metrics) is Python-only, so no idempotency "
            "table is created and the handler must report batchItemFailures itself. Pass "
            "idempotency=Idempotency(...) to create the table for your own idempotency code."
        ),
    ),
)


def consumer_warnings(facts: ConsumerFacts) -> list[tuple[str, str]]:
    """(code, message) of every warning in :data:`WARNINGS` that applies to ``facts``."""
    return [(w.code, w.message(facts)) for w in WARNINGS if w.applies(facts)]


# -- derived values ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsumerDerived:
    """The values a valid consumer computes from its props (pure: numbers in, numbers out)."""

    #: The queue's visibility timeout in seconds (explicit, or 6 x timeout + window); None: a
    #: token the user passed, used as given.
    visibility_timeout_seconds: int | None
    #: The idempotency options in effect (None: no table).
    idempotency: Idempotency | None
    #: ``IDEMPOTENCY_EXPIRES_AFTER_SECONDS``: the explicit expiry, else the message lifetime;
    #: None when that is a token (carried into the template as the token it is).
    idempotency_expiry_seconds: int | None
    #: The source queue's redrive ``maxReceiveCount`` (FIFO: with room for crashed invocations);
    #: a token the user passed is used as given.
    redrive_max_receive_count: int


def derive(facts: ConsumerFacts) -> ConsumerDerived:
    """What the build phases need computed, from valid facts."""
    explicit = facts.seconds["visibility_timeout"]
    options = None if drops_default_idempotency(facts) else facts.props.idempotency
    expiry = None
    if options is not None:
        expiry = (
            facts.message_lifetime
            if options.expires_after is None
            else seconds_of(options.expires_after)
        )
    return ConsumerDerived(
        visibility_timeout_seconds=explicit
        if facts.props.visibility_timeout is not None
        else facts.derived_visibility,
        idempotency=options,
        idempotency_expiry_seconds=expiry,
        redrive_max_receive_count=(
            receives
            if is_token_number(receives := facts.props.max_receive_count)
            else redrive_max_receive_count(receives, fifo=facts.props.fifo)
        ),
    )
