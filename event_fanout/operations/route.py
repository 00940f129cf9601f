r"""Which consumers' rules match an event, and for the others the first field that does not.

The engine of ``event-fanout route EVENT_FILE``. Offline, it matches the event against the
rules' event patterns read from the stacks' templates; with ``--aws`` it asks EventBridge's
``TestEventPattern`` instead, so the answer is AWS's own.

Whose matching rules
--------------------
The event-pattern language has grown (suffix, wildcard, ``$or``, equals-ignore-case,
anything-but prefix, suffix and wildcard) and a new matcher would have to follow it. The
offline answer therefore comes from a maintained implementation, chosen among those on PyPI:

- **moto** (``moto.events.models.EventPattern``, chosen). Every operator of AWS's
  "Comparison operators" page: exact, null and empty string, prefix and suffix (also ignoring
  case), equals-ignore-case, wildcard (with ``\*`` escapes), anything-but (value, list,
  prefix, suffix, equals-ignore-case, wildcard), numeric ranges, cidr, exists, ``$or`` at any
  depth, and any-element matching of arrays. Released every few weeks. No new dependency: the
  command already needs the ``local`` extra, whose emulator *is* moto (pinned 5.2.5), so an
  offline route agrees with what ``event-fanout local`` delivers, except where noted below.
- localstack-core's ``event_rule_engine``: as complete, but importing it loads LocalStack's
  core (botocore, rolo, cryptography, dnslib, dnspython, jsonpatch, cachetools, ...): a second
  emulator's runtime for one function.
- event-ruler (PyPI): a gopy binding, last released in December 2023, binary wheels for
  CPython 3.10 and 3.11 on x86-64 only. aws-eventbridge-rule-syncer: last released in 2020,
  before suffix, wildcard and ``$or`` existed. AWS's own Event Ruler is a Java library.

Where moto differs from EventBridge, a small adapter (the ``_adapter`` section below, each
part tested against the example that shows the difference) corrects it before moto matches:

- **Operator names are checked.** moto matches an operator it does not know (``{"contains":
  "x"}``, or an unresolved ``{"Ref": "..."}`` left in a pattern) against every value;
  EventBridge rejects the pattern. Here it raises :class:`InvalidEventPatternError`.
- **Arrays of objects.** EventBridge matches into the objects of an array, each pattern field
  against any element, with the fields of one match taken from the same element (Event
  Ruler's array consistency): ``{"detail": {"findings": {"Severity": {"Label":
  ["CRITICAL"]}}}}`` matches a Security Hub finding event, whose ``findings`` is an array. moto
  descends into objects only, so it never matches. Here the event is expanded into one variant
  per choice of element (only along the pattern's fields) and moto matches each variant.
- **Empty arrays and objects are no leaf.** moto takes ``"resources": []`` or ``"detail": {}``
  for a present value (``exists: true`` and ``anything-but`` then match); EventBridge matches
  leaves only, and an empty container has none. Here they are dropped.

Left as moto has it (documented by a test marked ``xfail``): a JSON boolean equals the number
1 or 0 (Python's ``True == 1``), so ``{"flag": [true]}`` matches ``"flag": 1`` and ``numeric``
accepts ``true``; EventBridge compares JSON values and does neither.

``TestEventPattern`` on the emulator: moto 5.2.5 answers it with an empty body (no
``Result``), so :func:`route_with_eventbridge` says so instead of guessing; it is for real AWS.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from event_fanout.local.server import ACCOUNT_ID, DEFAULT_REGION

if TYPE_CHECKING:
    from moto.events.models import EventPattern
    from moto.events.utils import EventMessageType
    from mypy_boto3_events import EventBridgeClient

__all__ = [
    "DEFAULT_PSEUDO_PARAMETERS",
    "MAX_VARIANTS",
    "OPERATORS",
    "REQUIRED_ENVELOPE_FIELDS",
    "InvalidEventPatternError",
    "RouteError",
    "RouteResult",
    "matches",
    "mismatch",
    "patterns_from_templates",
    "route",
    "route_with_eventbridge",
    "to_envelope",
]

#: The operators EventBridge accepts in a pattern's value list (``{"<operator>": ...}``).
OPERATORS = frozenset(
    {
        "anything-but",
        "cidr",
        "equals-ignore-case",
        "exists",
        "numeric",
        "prefix",
        "suffix",
        "wildcard",
    }
)
#: Variants of one event (choices of array elements along a pattern's fields) matched at most.
MAX_VARIANTS = 4096
#: The envelope fields ``TestEventPattern`` requires (its API reference lists them).
REQUIRED_ENVELOPE_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")
#: What a template's ``{"Ref": "AWS::..."}`` in an event pattern stands for, offline: the
#: emulator's account and region, the ones :func:`to_envelope` gives an event without them, so
#: a rule scoped to "this account" matches an event published in it.
DEFAULT_PSEUDO_PARAMETERS: Mapping[str, str] = MappingProxyType(
    {
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Region": DEFAULT_REGION,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
)

#: PutEvents entry field -> envelope field (``Detail`` is also decoded from its JSON string).
_ENTRY_FIELDS = {
    "Source": "source",
    "DetailType": "detail-type",
    "Detail": "detail",
    "Resources": "resources",
    "Time": "time",
}
#: PutEvents entry fields that say where or how to send, not what the event is.
_ENTRY_SENDING_FIELDS = frozenset({"EventBusName", "TraceHeader"})
#: Top-level fields reported before others when several do not match: a wrong source or
#: detail-type makes the rest moot, and CDK writes patterns with their keys sorted
#: (``detail`` first).
_REPORT_FIRST = ("source", "detail-type")


class RouteError(ValueError):
    """An event, template or answer that routing cannot use; the message says which and why."""


class InvalidEventPatternError(RouteError):
    """An event pattern EventBridge would reject (``InvalidEventPatternException``)."""


@dataclass(frozen=True, slots=True)
class RouteResult:
    """Whether one consumer's rule matches the event, and if not, the field that does not.

    ``mismatched_field`` is a dotted path into the event (``source``, ``detail.status``); None
    when the rule matches, or when the reason was not asked for.
    """

    consumer: str
    matched: bool
    mismatched_field: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as JSON for ``--json``."""
        return {
            "consumer": self.consumer,
            "matched": self.matched,
            "mismatched_field": self.mismatched_field,
        }


# --- Matching -------------------------------------------------------------------------------

#: Whether a pattern matches the event under examination (offline, or ``TestEventPattern``).
_Matcher = Callable[[Mapping[str, Any]], bool]


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether an EventBridge event pattern matches an event.

    The event is matched as given (no envelope fields are filled in; see :func:`to_envelope`).
    Matching is moto's, with the corrections listed in the module docstring.

    Parameters
    ----------
    pattern
        An event pattern, as in a rule's ``EventPattern``.
    event
        An event, or any JSON object (AWS's examples match fragments too).

    Returns
    -------
    bool
        True when every field of the pattern matches.

    Raises
    ------
    InvalidEventPatternError
        When EventBridge would reject the pattern (unknown operator, empty list, a value that
        is neither a list nor an object, ...).

    Examples
    --------
    >>> matches({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}},
    ...         {"detail": {"state": "running"}})
    True
    >>> matches({"time": [{"prefix": "2017-10-02"}]}, {"time": "2017-10-03T00:00:00Z"})
    False

    """
    if not isinstance(event, Mapping):
        raise RouteError(f"an event is a JSON object, got {type(event).__name__}")
    _check_pattern(pattern)
    compiled = _load(pattern)
    variants = _event_variants(event, _pattern_paths(pattern))
    try:
        return any(
            compiled.matches_event(cast("EventMessageType", variant)) for variant in variants
        )
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as error:
        # moto checks a pattern's shape, not its operators' arguments ({"prefix": 5}).
        raise InvalidEventPatternError(
            f"the event pattern cannot be evaluated ({type(error).__name__}: {error}): check "
            "the arguments of its operators against EventBridge's comparison operators"
        ) from error


def mismatch(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> str | None:
    """The first field of a pattern that does not match an event, or None when it matches.

    Found by matching growing parts of the pattern with the same matcher, so the answer is
    what the matcher itself says, not a second opinion: the fields are added one at a time
    (``source`` and ``detail-type`` first, then the pattern's order) and the first whose
    addition makes the part stop matching is reported. Adding, rather than testing each field
    alone, also finds a field that matches alone but not with the others (two fields matched
    in different elements of one array of objects).

    A ``$or`` is one field of the pattern. When it does not match, the answer comes from its
    closest alternative: the one with the fewest fields that do not match (the first of those
    on a tie), and its first field that does not match. A ``$or`` none of whose alternatives
    has a failing field of its own is reported as its path, ``detail.$or`` (or ``$or``).

    Parameters
    ----------
    pattern
        An event pattern.
    event
        The event, matched as given (see :func:`matches`).

    Returns
    -------
    str or None
        A dotted path into the event (``source``, ``detail.status``), or None.

    Raises
    ------
    InvalidEventPatternError
        When EventBridge would reject the pattern.

    Examples
    --------
    >>> pattern = {"source": ["ads.campaigns"], "detail": {"status": ["ACTIVE"]}}
    >>> mismatch(pattern, {"source": "ads.campaigns", "detail": {"status": "PAUSED"}})
    'detail.status'
    >>> mismatch(pattern, {"source": "ads.campaigns", "detail": {"status": "ACTIVE"}}) is None
    True

    """
    if matches(pattern, event):
        return None
    return _explain(pattern, lambda part: matches(part, event))


def _explain(pattern: Mapping[str, Any], matcher: _Matcher) -> str:
    """The first field of a pattern ``matcher`` does not accept (see :func:`mismatch`).

    ``matcher`` answers for parts of the pattern, against the event under examination; the
    pattern as a whole must not match. Each call of ``matcher`` costs one ``TestEventPattern``
    call on the ``--aws`` path: about one per field up to the first that fails, plus one per
    field of each alternative of a ``$or`` that fails.
    """
    path, _ = _first_failure(_ordered(_terms(pattern)), [], matcher)
    if path is None:
        raise RouteError(
            "the event pattern does not match, yet every part of it does: the matcher "
            "answered inconsistently"
        )
    return path


def route(event: Mapping[str, Any], patterns: Mapping[str, Mapping[str, Any]]) -> list[RouteResult]:
    """Which consumers' rules match an event, offline.

    Parameters
    ----------
    event
        An EventBridge event (``source``, ``detail-type``, ``detail``, ...) or a PutEvents entry
        (``Source``, ``DetailType``, ``Detail`` as a JSON string). It is completed as
        EventBridge would deliver it (:func:`to_envelope`) before matching.
    patterns
        Consumer name -> its rule's event pattern (see :func:`patterns_from_templates`).

    Returns
    -------
    list[RouteResult]
        One per consumer, in the order of ``patterns``.

    Raises
    ------
    RouteError
        When the event is not one EventBridge could carry.
    InvalidEventPatternError
        When a pattern is one EventBridge would reject (the message names the consumer).

    Examples
    --------
    >>> entry = {"Source": "ads.campaigns", "DetailType": "CampaignBudgetChanged",
    ...          "Detail": '{"newBudget": 500}'}
    >>> [result.to_json() for result in route(entry, {
    ...     "AuditLog": {"source": ["ads.campaigns"]},
    ...     "Notification": {"detail": {"newBudget": [{"numeric": [">", 1000]}]}},
    ... })]  # doctest: +NORMALIZE_WHITESPACE
    [{'consumer': 'AuditLog', 'matched': True, 'mismatched_field': None},
     {'consumer': 'Notification', 'matched': False, 'mismatched_field': 'detail.newBudget'}]

    """
    envelope = to_envelope(event)
    results = []
    for consumer, pattern in patterns.items():
        with _for_consumer(consumer):
            field = mismatch(pattern, envelope)
        results.append(RouteResult(consumer, field is None, field))
    return results


def route_with_eventbridge(
    events_client: EventBridgeClient,
    event: Mapping[str, Any],
    patterns: Mapping[str, Mapping[str, Any]],
    *,
    explain_mismatches: bool = True,
) -> list[RouteResult]:
    """Which consumers' rules match an event, as EventBridge's ``TestEventPattern`` answers.

    The mismatched field is found the way :func:`mismatch` finds it, with ``TestEventPattern``
    as the matcher: the answer is AWS's for the parts of the pattern too, at the cost of more
    calls (about one per field up to the first that fails, plus one per field of the
    alternatives of a ``$or`` that fails). TestEventPattern is throttled per account: pass
    ``explain_mismatches=False`` for one call per consumer (``mismatched_field`` is then None).

    Parameters
    ----------
    events_client
        A boto3 EventBridge client, on the account and region to ask.
    event
        An event or a PutEvents entry, completed by :func:`to_envelope` (TestEventPattern
        requires ``id``, ``account``, ``source``, ``time``, ``region``, ``resources`` and
        ``detail-type``).
    patterns
        Consumer name -> its rule's event pattern.
    explain_mismatches
        Whether to find the mismatched field of each rule that does not match.

    Returns
    -------
    list[RouteResult]
        One per consumer, in the order of ``patterns``.

    Raises
    ------
    InvalidEventPatternError
        When EventBridge rejects a pattern (the message names the consumer).
    RouteError
        When the endpoint answers without a result (moto's emulator does), or the event is not
        one EventBridge could carry.

    Examples
    --------
    >>> import boto3  # doctest: +SKIP
    >>> route_with_eventbridge(boto3.client("events"), {"source": "ads.campaigns",
    ...     "detail-type": "CampaignBudgetChanged", "detail": {}},
    ...     {"AuditLog": {"source": ["ads.campaigns"]}})  # doctest: +SKIP
    [RouteResult(consumer='AuditLog', matched=True, mismatched_field=None)]

    """
    envelope = to_envelope(event)
    body = json.dumps(envelope)

    def test(pattern: Mapping[str, Any]) -> bool:
        return _test_event_pattern(events_client, pattern, body)

    results = []
    for consumer, pattern in patterns.items():
        with _for_consumer(consumer):
            matched = test(pattern)
            field = None if matched or not explain_mismatches else _explain(pattern, test)
        results.append(RouteResult(consumer, matched, field))
    return results


def _test_event_pattern(client: EventBridgeClient, pattern: Mapping[str, Any], body: str) -> bool:
    try:
        response = client.test_event_pattern(EventPattern=json.dumps(pattern), Event=body)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "InvalidEventPatternException":
            message = error.response.get("Error", {}).get("Message", str(error))
            raise InvalidEventPatternError(f"EventBridge rejects the pattern: {message}") from error
        raise
    result = response.get("Result")
    if not isinstance(result, bool):
        raise RouteError(
            "the endpoint answered TestEventPattern without a Result (moto's emulator does "
            "not implement it): route offline instead, or ask real AWS"
        )
    return result


@contextlib.contextmanager
def _for_consumer(consumer: str) -> Iterator[None]:
    """Name the consumer whose pattern (or event, against it) a routing error is about."""
    try:
        yield
    except RouteError as error:
        raise type(error)(f"{consumer}: {error}") from error


# --- The event ------------------------------------------------------------------------------


def to_envelope(
    event: Mapping[str, Any],
    *,
    account: str = ACCOUNT_ID,
    region: str = DEFAULT_REGION,
    now: datetime | None = None,
) -> dict[str, Any]:
    """An event as EventBridge delivers it, from an envelope or a PutEvents entry.

    A PutEvents entry (``Source``, ``DetailType``, ``Detail`` as a JSON string, ``Resources``,
    ``Time``) is renamed to the envelope's fields and its ``Detail`` decoded; ``EventBusName``
    and ``TraceHeader`` say where to send it and are dropped. The fields EventBridge sets on
    publishing and that are missing are filled with plausible values: ``version`` "0", a fresh
    ``id``, ``account`` and ``region`` (the emulator's by default), ``time`` now (UTC),
    ``resources`` [] and ``detail`` {}. ``source`` and ``detail-type`` are required, as
    PutEvents requires them: no placeholder can stand for them.

    Parameters
    ----------
    event
        An envelope or a PutEvents entry.
    account, region
        The account and region of an event that has none.
    now
        The time of an event that has none; the current time when None.

    Returns
    -------
    dict[str, Any]
        A new envelope, with every field ``TestEventPattern`` requires.

    Raises
    ------
    RouteError
        When ``source`` or ``detail-type`` is missing, ``Detail`` is not a JSON object, or the
        event mixes the two forms.

    Examples
    --------
    >>> envelope = to_envelope({"Source": "ads.campaigns", "DetailType": "Changed",
    ...                         "Detail": '{"id": 7}'}, now=datetime(2024, 5, 1, tzinfo=UTC))
    >>> envelope["detail-type"], envelope["detail"], envelope["time"], envelope["account"]
    ('Changed', {'id': 7}, '2024-05-01T00:00:00Z', '123456789012')

    """
    if not isinstance(event, Mapping):
        raise RouteError(f"an event is a JSON object, got {type(event).__name__}")
    entry_keys = sorted(set(_ENTRY_FIELDS) & set(event))
    envelope_keys = sorted(set(_ENTRY_FIELDS.values()) & set(event))
    if entry_keys and envelope_keys:
        raise RouteError(
            f"the event mixes PutEvents entry fields ({', '.join(entry_keys)}) with envelope "
            f"fields ({', '.join(envelope_keys)}): give one or the other"
        )
    envelope = _from_entry(event) if entry_keys else dict(event)
    for name in ("source", "detail-type"):
        if not isinstance(envelope.get(name), str):
            entry_name = next(key for key, value in _ENTRY_FIELDS.items() if value == name)
            raise RouteError(
                f"the event has no {name!r} (a PutEvents entry's {entry_name!r}): every "
                "EventBridge event has one"
            )
    if not isinstance(envelope.setdefault("detail", {}), Mapping):
        raise RouteError(
            "the event's 'detail' is not a JSON object (a PutEvents entry's Detail is that "
            "object as a JSON string)"
        )
    envelope.setdefault("version", "0")
    envelope.setdefault("id", str(uuid.uuid4()))
    envelope.setdefault("account", account)
    envelope.setdefault("region", region)
    envelope.setdefault("time", _iso_time(now or datetime.now(UTC)))
    envelope.setdefault("resources", [])
    return envelope


def _from_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(entry) - set(_ENTRY_FIELDS) - _ENTRY_SENDING_FIELDS)
    if unknown:
        raise RouteError(
            f"the PutEvents entry has fields PutEvents does not take ({', '.join(unknown)}): "
            f"it takes {', '.join([*_ENTRY_FIELDS, *sorted(_ENTRY_SENDING_FIELDS)])}"
        )
    envelope = {_ENTRY_FIELDS[key]: value for key, value in entry.items() if key in _ENTRY_FIELDS}
    if isinstance(envelope.get("detail"), str):
        try:
            envelope["detail"] = json.loads(envelope["detail"])
        except json.JSONDecodeError as error:
            raise RouteError(f"the entry's Detail is not JSON: {error}") from error
    when = envelope.get("time")
    if isinstance(when, datetime):
        envelope["time"] = _iso_time(when)
    elif isinstance(when, int | float) and not isinstance(when, bool):
        envelope["time"] = _iso_time(datetime.fromtimestamp(when, UTC))
    return envelope


def _iso_time(when: datetime) -> str:
    """EventBridge's time format (``2017-12-22T18:43:48Z``); a naive time is taken as UTC."""
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Templates ------------------------------------------------------------------------------


def patterns_from_templates(
    templates: Mapping[str, Mapping[str, Any]],
    *,
    pseudo_parameters: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The event pattern of every ``AWS::Events::Rule`` in CloudFormation templates.

    Rules without an ``EventPattern`` (schedules) are skipped. A pattern may be a JSON object
    (what CDK writes) or a JSON string. References to pseudo parameters in it
    (``{"Ref": "AWS::AccountId"}``, also inside ``Fn::Join`` and ``Fn::Sub``) are replaced with
    ``pseudo_parameters``; any other intrinsic cannot be known offline and is an error, rather
    than a pattern that matches something else. Disabled rules (``State: DISABLED``) are read
    like the others: EventBridge delivers nothing to their targets, which the caller may say.

    Parameters
    ----------
    templates
        Template name (a stack) -> its template, parsed.
    pseudo_parameters
        ``AWS::AccountId`` and friends -> value; :data:`DEFAULT_PSEUDO_PARAMETERS` when None.
        Pass the deployed account and region when routing for a deployed stack.

    Returns
    -------
    dict[str, dict[str, Any]]
        Rule logical id -> its event pattern. The caller maps logical ids to consumers.

    Raises
    ------
    RouteError
        When a pattern is not JSON, holds an intrinsic that cannot be resolved, or two
        templates have rules of the same logical id (call it once per template to keep them
        apart).

    Examples
    --------
    >>> template = {"Resources": {"AuditRule": {"Type": "AWS::Events::Rule", "Properties": {
    ...     "EventPattern": {"source": ["ads.campaigns"],
    ...                      "account": [{"Ref": "AWS::AccountId"}]}}}}}
    >>> patterns_from_templates({"Campaigns": template})
    {'AuditRule': {'source': ['ads.campaigns'], 'account': ['123456789012']}}

    """
    pseudo = DEFAULT_PSEUDO_PARAMETERS if pseudo_parameters is None else pseudo_parameters
    patterns: dict[str, dict[str, Any]] = {}
    found_in: dict[str, str] = {}
    for template_name, template in templates.items():
        resources = template.get("Resources") or {}
        for logical_id, resource in resources.items():
            if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::Events::Rule":
                continue
            raw = (resource.get("Properties") or {}).get("EventPattern")
            if raw is None:
                continue
            where = f"{template_name}/{logical_id}"
            if logical_id in found_in:
                raise RouteError(
                    f"{where}: a rule of the same logical id is in {found_in[logical_id]}: "
                    "route one stack at a time (--stack)"
                )
            patterns[logical_id] = _rule_pattern(raw, where, pseudo)
            found_in[logical_id] = template_name
    return patterns


def _rule_pattern(raw: Any, where: str, pseudo: Mapping[str, str]) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            raise RouteError(f"{where}: the EventPattern is not JSON: {error}") from error
    if not isinstance(raw, Mapping):
        raise RouteError(f"{where}: the EventPattern is not a JSON object")
    resolved = _resolve(raw, where, pseudo)
    return cast("dict[str, Any]", resolved)


def _resolve(value: Any, where: str, pseudo: Mapping[str, str]) -> Any:
    """``value`` with its references to pseudo parameters replaced by their values."""
    if isinstance(value, list):
        return [_resolve(item, where, pseudo) for item in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        # A Ref names a string; a pattern's own field named "Ref" holds a list or an object.
        if (key == "Ref" and isinstance(argument, str)) or key.startswith("Fn::"):
            return _intrinsic(key, argument, where, pseudo)
    return {key: _resolve(item, where, pseudo) for key, item in value.items()}


def _intrinsic(key: str, argument: Any, where: str, pseudo: Mapping[str, str]) -> str:
    if key == "Ref" and isinstance(argument, str) and argument in pseudo:
        return pseudo[argument]
    if key == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        separator, parts = argument
        if isinstance(separator, str) and isinstance(parts, list):
            return separator.join(_intrinsic_part(part, where, pseudo) for part in parts)
    if key == "Fn::Sub" and isinstance(argument, str):
        text = argument
        for name, value in pseudo.items():
            text = text.replace("${" + name + "}", value)
        if "${" not in text.replace("${!", ""):
            return text.replace("${!", "${")
    raise RouteError(
        f"{where}: the EventPattern holds {json.dumps({key: argument})}, which is known only "
        "in the deployed stack: route with --aws, or give its value"
    )


def _intrinsic_part(part: Any, where: str, pseudo: Mapping[str, str]) -> str:
    resolved = _resolve(part, where, pseudo)
    if not isinstance(resolved, str):
        raise RouteError(f"{where}: the EventPattern joins a value that is not a string")
    return resolved


# --- Patterns, as terms ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    """One field of a pattern: its path and its value list."""

    path: tuple[str, ...]
    values: Any


@dataclass(frozen=True, slots=True)
class _AnyOf:
    """A ``$or`` of a pattern: where it is and its alternatives (each a pattern there)."""

    path: tuple[str, ...]
    alternatives: tuple[Mapping[str, Any], ...]


_Term = _Field | _AnyOf


def _terms(pattern: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> list[_Term]:
    terms: list[_Term] = []
    for key, value in pattern.items():
        if key == "$or" and isinstance(value, list):
            terms.append(_AnyOf(prefix, tuple(value)))
        elif isinstance(value, Mapping):
            terms.extend(_terms(value, (*prefix, key)))
        else:
            terms.append(_Field((*prefix, key), value))
    return terms


def _ordered(terms: Iterable[_Term]) -> list[_Term]:
    def rank(term: _Term) -> int:
        top = term.path[0] if term.path else ""
        return _REPORT_FIRST.index(top) if top in _REPORT_FIRST else len(_REPORT_FIRST)

    return sorted(terms, key=rank)


def _pattern_of(terms: Iterable[_Term]) -> dict[str, Any]:
    pattern: dict[str, Any] = {}
    for term in terms:
        node = pattern
        parents = term.path[:-1] if isinstance(term, _Field) else term.path
        for key in parents:
            node = node.setdefault(key, {})
        if isinstance(term, _Field):
            node[term.path[-1]] = term.values
        else:
            node["$or"] = list(term.alternatives)
    return pattern


def _first_failure(
    terms: Sequence[_Term], context: Sequence[_Term], matcher: _Matcher
) -> tuple[str | None, int]:
    """The first of ``terms`` that stops matching when added to ``context``, and how many do."""
    accepted = list(context)
    first: str | None = None
    failures = 0
    for term in terms:
        if matcher(_pattern_of([*accepted, term])):
            accepted.append(term)
            continue
        failures += 1
        if first is None:
            first = _failing_path(term, accepted, matcher)
    return first, failures


def _failing_path(term: _Term, context: Sequence[_Term], matcher: _Matcher) -> str:
    if isinstance(term, _Field):
        return ".".join(term.path)
    best: tuple[int, str] | None = None
    for alternative in term.alternatives:
        path, failures = _first_failure(_ordered(_terms(alternative, term.path)), context, matcher)
        if path is not None and (best is None or failures < best[0]):
            best = (failures, path)
    return best[1] if best is not None else ".".join((*term.path, "$or"))


# --- _adapter: where moto 5.2.5 differs from EventBridge ------------------------------------


def _check_pattern(pattern: Any, path: tuple[str, ...] = ()) -> None:
    """Raise :class:`InvalidEventPatternError` where EventBridge would reject ``pattern``.

    moto checks that values are lists or objects; it matches an operator it does not know
    against every value, which EventBridge rejects. This checks the operators.
    """
    where = ".".join(path) or "the pattern"
    if not isinstance(pattern, Mapping):
        raise InvalidEventPatternError(f"{where} must be a JSON object")
    for key, value in pattern.items():
        here = (*path, key)
        if key == "$or" and isinstance(value, list):
            if not value or not all(isinstance(item, Mapping) for item in value):
                raise InvalidEventPatternError(
                    f"{'.'.join(here)} must be a list of patterns (JSON objects)"
                )
            for alternative in value:
                _check_pattern(alternative, path)
        elif isinstance(value, Mapping):
            _check_pattern(value, here)
        elif isinstance(value, list):
            if not value:
                raise InvalidEventPatternError(f"{'.'.join(here)}: empty lists are not allowed")
            for item in value:
                _check_value(item, here)
        else:
            raise InvalidEventPatternError(
                f"{'.'.join(here)} must be a list of values or an object, got {json.dumps(value)}"
            )


def _check_value(item: Any, path: tuple[str, ...]) -> None:
    if not isinstance(item, Mapping):
        return
    operators = list(item)
    if len(operators) != 1 or operators[0] not in OPERATORS:
        raise InvalidEventPatternError(
            f"{'.'.join(path)}: {json.dumps(item)} is not an EventBridge operator (one of "
            f"{', '.join(sorted(OPERATORS))})"
        )


def _load(pattern: Mapping[str, Any]) -> EventPattern:
    # moto is imported on first use: it costs half a second, which the other commands of the
    # CLI (they import this package) should not pay.
    from moto.events.exceptions import InvalidEventPatternException
    from moto.events.models import EventPattern

    try:
        return EventPattern.load(json.dumps(pattern))
    except InvalidEventPatternException as error:
        raise InvalidEventPatternError(error.message) from error


def _pattern_paths(pattern: Mapping[str, Any], prefix: str = "") -> frozenset[str]:
    """Every dotted path a pattern reaches, and each of their dotted prefixes."""
    paths: set[str] = set()
    for key, value in pattern.items():
        if key == "$or" and isinstance(value, list):
            for alternative in value:
                paths |= _pattern_paths(alternative, prefix)
            continue
        path = f"{prefix}.{key}" if prefix else key
        paths.add(path)
        if isinstance(value, Mapping):
            paths |= _pattern_paths(value, path)
    # A key with dots ("state.status") is the path of nested keys too (moto and Event Ruler
    # flatten both to the same name): keep every prefix at a dot.
    split = [path.split(".") for path in paths]
    return frozenset(".".join(parts[:end]) for parts in split for end in range(1, len(parts) + 1))


def _event_variants(event: Mapping[str, Any], wanted: frozenset[str]) -> list[dict[str, Any]]:
    """The event as moto should see it: one variant per choice of array elements.

    Only the pattern's paths (``wanted``) are kept, so the variants multiply along those alone;
    empty arrays and objects are dropped (no leaf). An array of objects becomes one variant per
    element (and one for its scalars, kept as a list for moto's any-element matching), so the
    fields a variant matches come from one element, as EventBridge's array consistency wants.
    """
    variants = _variants(event, "", wanted)
    return [cast("dict[str, Any]", variant) for variant in variants] or [{}]


def _variants(node: Any, path: str, wanted: frozenset[str]) -> list[Any]:
    if isinstance(node, Mapping):
        choices: list[tuple[str, list[Any]]] = []
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            if child not in wanted:
                continue
            options = _variants(value, child, wanted)
            if options:
                choices.append((key, options))
        if not choices:
            return []
        count = math.prod(len(options) for _, options in choices)
        if count > MAX_VARIANTS:
            raise RouteError(
                f"the event's arrays of objects under {path or 'its top level'} make {count} "
                f"combinations to match, more than {MAX_VARIANTS}: route a smaller event"
            )
        keys = [key for key, _ in choices]
        return [
            dict(zip(keys, picked, strict=True))
            for picked in itertools.product(*(options for _, options in choices))
        ]
    if isinstance(node, list):
        elements = list(_flatten(node))
        scalars = [element for element in elements if not isinstance(element, Mapping)]
        alternatives: list[Any] = [scalars] if scalars else []
        for element in elements:
            if isinstance(element, Mapping):
                alternatives.extend(_variants(element, path, wanted))
        return alternatives
    return [node]


def _flatten(items: Iterable[Any]) -> Iterable[Any]:
    """The elements of nested arrays, in order: Event Ruler matches ``[[a], [b]]`` as ``[a, b]``."""
    for item in items:
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield item
