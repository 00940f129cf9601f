"""Publish events to EventBridge the way ``PutEvents`` needs it: batched, retried, never dropped.

What every producer writes by hand, once and in one place:

- ``PutEvents`` takes at most 10 entries and 256 KB (262,144 bytes, the sum of the entries' sizes
  as AWS computes them) per request: :func:`plan_batches` packs the events into as few requests
  as fit, in the caller's order.
- A request can succeed while some of its entries fail (``FailedEntryCount``, a per-entry
  ``ErrorCode``). Only the failed entries are sent again, and only for the errors AWS documents
  as retryable (``ThrottlingException``, ``InternalFailure``), with bounded exponential backoff
  and full jitter (:class:`RetryPolicy`).
- Nothing is dropped silently: :class:`PublishResult` holds each accepted event's ``EventId``
  and each event that failed for good with its ``ErrorCode`` and ``ErrorMessage``.
- An event too big for ``PutEvents`` is rejected before anything is sent
  (:class:`EventTooLargeError`): no retry can make it fit.
- Each event's ``detail`` carries a correlation id (``detail["correlationId"]``), which the
  consumer runtime (:mod:`event_fanout.runtime`) puts on every log line it writes for the event.

This module is application code: it imports only the standard library and boto3/botocore, never
``aws_cdk``, pydantic or Powertools.

Examples
--------
>>> from event_fanout.producer import EventEntry, EventPublisher, correlation_id
>>> publisher = EventPublisher(event_bus_name="ads-campaigns")  # doctest: +SKIP
>>> with correlation_id("req-42"):  # doctest: +SKIP
...     result = publisher.publish([
...         EventEntry("ads.campaigns", "CampaignBudgetChanged", {"campaignId": 7}),
...     ])
>>> result.raise_for_failures().event_ids  # doctest: +SKIP
('5b8c...',)

"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

__all__ = [
    "CORRELATION_FIELDS",
    "CORRELATION_ID_FIELD",
    "MAX_ENTRIES_PER_REQUEST",
    "MAX_REQUEST_BYTES",
    "RETRIABLE_ERROR_CODES",
    "AcceptedEntry",
    "EventEntry",
    "EventPublisher",
    "EventTooLargeError",
    "FailedEntry",
    "InvalidEventError",
    "PublishError",
    "PublishResult",
    "PutEventsClient",
    "RetryPolicy",
    "correlation_id",
    "current_correlation_id",
    "entry_size",
    "new_correlation_id",
    "plan_batches",
]

#: Entries one ``PutEvents`` request accepts.
MAX_ENTRIES_PER_REQUEST = 10
#: Bytes one ``PutEvents`` request accepts: 256 KB, the sum of its entries' :func:`entry_size`.
MAX_REQUEST_BYTES = 262_144
#: What a ``Time`` field counts for in an entry's size, whatever its value (AWS's formula).
TIME_FIELD_BYTES = 14
#: Where the producer stamps the correlation id in ``detail``.
CORRELATION_ID_FIELD = "correlationId"
#: Names the consumer runtime reads a correlation id from, in ``detail`` and then in
#: ``detail["metadata"]`` (``event_fanout.runtime.events.CORRELATION_FIELDS``, repeated here so
#: producing events does not import pydantic; a test keeps the two equal).
CORRELATION_FIELDS: tuple[str, ...] = ("correlationId", "correlation_id")
#: Per-entry (and whole-request) error codes worth another attempt, as the PutEvents API
#: reference lists them; every other code (``AccessDeniedException``, ``InvalidArgument``,
#: ``MalformedDetail``, ``NotAuthorizedForSourceException``...) fails the same way every time.
RETRIABLE_ERROR_CODES: frozenset[str] = frozenset({"ThrottlingException", "InternalFailure"})

#: The fields of a ``PutEventsRequestEntry``.
_ENTRY_FIELDS = frozenset(
    {"Source", "DetailType", "Detail", "EventBusName", "Resources", "Time", "TraceHeader"}
)

_LOGGER = logging.getLogger(__name__)

# A ContextVar, not a module global: each thread and each asyncio task sees the id of the
# request it serves, the way Powertools' Logger keeps its per-invocation keys.
_CURRENT_CORRELATION_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "event_fanout_correlation_id", default=None
)


class InvalidEventError(ValueError):
    """An event that ``PutEvents`` would reject whatever the retries: raised before sending.

    Raised by :meth:`EventPublisher.publish` for the first such event of the call; nothing of
    the call has been sent, so the caller can fix the event and publish the whole list again.

    Attributes
    ----------
    index
        Position of the event in the caller's list.

    """

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"event {index}: {message}")
        self.index = index


class EventTooLargeError(InvalidEventError):
    """An event bigger than one ``PutEvents`` request may carry.

    EventBridge rejects it on every attempt, so it is refused before anything is sent. The fix
    is the claim-check pattern: store the payload elsewhere (S3, DynamoDB) and put a reference
    to it in ``detail``.

    Attributes
    ----------
    index
        Position of the event in the caller's list.
    size
        Its size as AWS computes it (:func:`entry_size`), correlation id included.
    limit
        The most bytes a request (so one entry) may carry.

    """

    def __init__(self, index: int, size: int, limit: int, source: str, detail_type: str) -> None:
        super().__init__(
            index,
            f"{source}/{detail_type} is {size} bytes, over the PutEvents limit of {limit} bytes "
            "per event (Source + DetailType + Detail + Resources, plus 14 bytes for Time): store "
            "the payload elsewhere, e.g. S3, and send a reference to it (bucket and key) in the "
            "detail instead",
        )
        self.size = size
        self.limit = limit


class PutEventsClient(Protocol):
    """What the publisher needs of its client: boto3's ``events`` client, or a test double."""

    def put_events(self, *, Entries: Sequence[Any]) -> Any:  # noqa: N803 (boto3's name)
        """Send up to 10 entries; answer ``{"FailedEntryCount": n, "Entries": [...]}``."""
        ...


@dataclass(frozen=True)
class EventEntry:
    """One event to publish, in Python names (a ``PutEventsRequestEntry`` dict works too).

    Parameters
    ----------
    source
        The event's ``source`` (``"ads.campaigns"``).
    detail_type
        The event's ``detail-type`` (``"CampaignBudgetChanged"``).
    detail
        The event's ``detail``: a JSON object, as a mapping or as its JSON text.
    event_bus_name
        The bus (name or ARN); ``None`` uses the publisher's ``event_bus_name``.
    resources
        ARNs the event concerns.
    time
        The event's time; ``None`` lets EventBridge use the time of the call.
    trace_header
        An X-Ray trace header (not counted in the size, as AWS documents).

    """

    source: str
    detail_type: str
    detail: Mapping[str, Any] | str
    event_bus_name: str | None = None
    resources: Sequence[str] = ()
    time: datetime | None = None
    trace_header: str | None = None

    def to_entry(self) -> dict[str, Any]:
        """The ``PutEvents`` entry, with only the fields that are set."""
        entry: dict[str, Any] = {
            "Source": self.source,
            "DetailType": self.detail_type,
            "Detail": self.detail,
        }
        if self.event_bus_name is not None:
            entry["EventBusName"] = self.event_bus_name
        if self.resources:
            entry["Resources"] = list(self.resources)
        if self.time is not None:
            entry["Time"] = self.time
        if self.trace_header is not None:
            entry["TraceHeader"] = self.trace_header
        return entry


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry an entry that failed with a retriable error.

    Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
    Jitter"): before retry ``n`` the publisher sleeps a random time in
    ``[0, min(max_delay, base_delay * 2 ** (n - 1)))``, so producers throttled together do not
    come back together. The bound is the attempt count; the longest total sleep is
    :attr:`worst_case_sleep`.

    Parameters
    ----------
    max_attempts
        Attempts per entry, the first one included (1 = never retry).
    base_delay
        Seconds: the ceiling of the first retry's sleep.
    max_delay
        Seconds: the ceiling of any retry's sleep.
    retriable_error_codes
        Error codes worth another attempt; any other code fails the entry at once.

    Raises
    ------
    ValueError
        ``max_attempts`` below 1, a negative delay, or ``max_delay`` below ``base_delay``.

    Examples
    --------
    >>> policy = RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=0.3)
    >>> [policy.delay(n, 0.5) for n in (1, 2, 3)]
    [0.05, 0.1, 0.15]
    >>> round(policy.worst_case_sleep, 3)
    0.6

    """

    max_attempts: int = 5
    base_delay: float = 0.1
    max_delay: float = 2.0
    retriable_error_codes: frozenset[str] = RETRIABLE_ERROR_CODES

    def __post_init__(self) -> None:
        problems = []
        if self.max_attempts < 1:
            problems.append(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.base_delay < 0:
            problems.append(f"base_delay must be 0 or more seconds, got {self.base_delay}")
        if self.max_delay < self.base_delay:
            problems.append(
                f"max_delay must be at least base_delay ({self.base_delay}), got {self.max_delay}"
            )
        if problems:
            raise ValueError("; ".join(problems))

    def ceiling(self, retry: int) -> float:
        """The most seconds to sleep before retry number ``retry`` (1 = the first retry)."""
        return min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))

    def delay(self, retry: int, fraction: float) -> float:
        """Full jitter: ``fraction`` (uniform in ``[0, 1)``) of :meth:`ceiling`."""
        return self.ceiling(retry) * fraction

    @property
    def worst_case_sleep(self) -> float:
        """Seconds one ``publish`` call can sleep at most (every retry at its ceiling)."""
        return sum(self.ceiling(retry) for retry in range(1, self.max_attempts))

    def is_retriable(self, error_code: str) -> bool:
        """Whether an entry that failed with ``error_code`` gets another attempt."""
        return error_code in self.retriable_error_codes


@dataclass(frozen=True)
class AcceptedEntry:
    """An event EventBridge accepted.

    Attributes
    ----------
    index
        Position of the event in the caller's list.
    event_id
        The ``EventId`` EventBridge assigned (the ``id`` consumers see).
    correlation_id
        The correlation id in its detail (stamped, or the one it already carried).
    attempts
        Requests it took (1 = accepted at the first attempt).

    """

    index: int
    event_id: str
    correlation_id: str
    attempts: int


@dataclass(frozen=True)
class FailedEntry:
    """An event that failed for good: the caller decides what to do with it (store, alert).

    Attributes
    ----------
    index
        Position of the event in the caller's list.
    entry
        The entry as sent (bus name and correlation id included), ready to be sent again.
    correlation_id
        The correlation id in its detail (stamped, or the one it already carried).
    error_code
        EventBridge's ``ErrorCode`` (or the whole request's error code, or the botocore
        exception's class name when the request never got an answer).
    error_message
        EventBridge's ``ErrorMessage`` or the exception's text.
    attempts
        Requests it was part of.
    retriable
        True when the error was retriable and the attempts ran out (worth trying again later);
        False when the same entry would fail the same way.

    """

    index: int
    entry: dict[str, Any]
    correlation_id: str
    error_code: str
    error_message: str
    attempts: int
    retriable: bool


class PublishError(RuntimeError):
    """Some events failed for good (raised by :meth:`PublishResult.raise_for_failures`).

    Attributes
    ----------
    result
        The whole outcome: what was accepted as well as what failed.

    """

    def __init__(self, result: PublishResult) -> None:
        failed = result.failed
        codes: dict[str, int] = {}
        for entry in failed:
            codes[entry.error_code] = codes.get(entry.error_code, 0) + 1
        summary = ", ".join(f"{code} x{count}" for code, count in sorted(codes.items()))
        super().__init__(
            f"{len(failed)} of {result.total} events failed for good ({summary}); "
            f"first: event {failed[0].index}: {failed[0].error_message}"
        )
        self.result = result


@dataclass(frozen=True)
class PublishResult:
    """What one :meth:`EventPublisher.publish` call did with each event, in the caller's order.

    Every event of the call is in exactly one of :attr:`accepted` and :attr:`failed`.

    Attributes
    ----------
    correlation_id
        The id this call stamped on details that had none.
    total
        Events in the call.
    accepted
        The accepted events, by index.
    failed
        The events that failed for good, by index.
    requests
        ``PutEvents`` calls made (retries included).

    """

    correlation_id: str
    total: int
    accepted: tuple[AcceptedEntry, ...] = ()
    failed: tuple[FailedEntry, ...] = ()
    requests: int = 0

    @property
    def ok(self) -> bool:
        """Whether every event was accepted."""
        return not self.failed

    @property
    def event_ids(self) -> tuple[str | None, ...]:
        """One ``EventId`` per event of the call, in its order; ``None`` where it failed."""
        ids: list[str | None] = [None] * self.total
        for entry in self.accepted:
            ids[entry.index] = entry.event_id
        return tuple(ids)

    def raise_for_failures(self) -> PublishResult:
        """Return ``self`` when every event was accepted, else raise :class:`PublishError`.

        For callers that treat a failed event as an error rather than handle each one.
        """
        if self.failed:
            raise PublishError(self)
        return self


def new_correlation_id() -> str:
    """A fresh correlation id (a random UUID)."""
    return str(uuid.uuid4())


def current_correlation_id() -> str | None:
    """The id set by the innermost :func:`correlation_id` block around the caller, if any."""
    return _CURRENT_CORRELATION_ID.get()


@contextlib.contextmanager
def correlation_id(value: str | None = None) -> Iterator[str]:
    """Make ``value`` the correlation id of every event published inside the block.

    Set it where a request enters the service (an API handler, a consumer handling an event it
    reacts to) so that everything the request causes shares one id, without passing it down to
    each ``publish`` call. Blocks nest; each thread and asyncio task sees its own.

    Parameters
    ----------
    value
        The id; ``None`` (or empty) starts a new one.

    Yields
    ------
    str
        The id in force inside the block.

    Examples
    --------
    >>> with correlation_id("req-42") as cid:
    ...     cid, current_correlation_id()
    ('req-42', 'req-42')
    >>> current_correlation_id() is None
    True

    """
    chosen = value or new_correlation_id()
    token = _CURRENT_CORRELATION_ID.set(chosen)
    try:
        yield chosen
    finally:
        _CURRENT_CORRELATION_ID.reset(token)


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def entry_size(entry: Mapping[str, Any]) -> int:
    """The size of a ``PutEvents`` entry as EventBridge counts it against the 256 KB limit.

    AWS documents it ("Calculating PutEvents event entry size"): the UTF-8 bytes of ``Source``,
    ``DetailType``, ``Detail`` and each of ``Resources``, plus 14 bytes when ``Time`` is set.
    ``EventBusName`` and ``TraceHeader`` do not count. A mapping ``Detail`` is measured as the
    compact JSON the publisher sends.

    Examples
    --------
    >>> entry_size({"Source": "s", "DetailType": "T", "Detail": '{"a":"é"}'})
    12
    >>> entry_size({"Source": "s", "DetailType": "T", "Detail": "{}", "Time": "2024-05-01",
    ...             "Resources": ["arn:x"]})
    23

    """
    size = _utf8_len(str(entry.get("Source") or "")) + _utf8_len(str(entry.get("DetailType") or ""))
    detail = entry.get("Detail")
    if isinstance(detail, Mapping):
        detail = _dumps(detail, None)
    if detail is not None:
        size += _utf8_len(str(detail))
    for resource in entry.get("Resources") or ():
        if resource is not None:
            size += _utf8_len(str(resource))
    if entry.get("Time") is not None:
        size += TIME_FIELD_BYTES
    return size


def plan_batches(
    sizes: Sequence[int],
    *,
    max_entries: int = MAX_ENTRIES_PER_REQUEST,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> list[list[int]]:
    """Group entries, by position, into requests within the count and byte limits.

    Greedy and order-preserving: a request is closed when the next entry would take it past
    ``max_entries`` or ``max_bytes``. Keeping the caller's order costs at most a few requests
    against an optimal packing, and an event published after another is never sent before it.

    Parameters
    ----------
    sizes
        Each entry's :func:`entry_size`.
    max_entries
        Entries per request.
    max_bytes
        Bytes per request (the sum of its entries' sizes).

    Returns
    -------
    list[list[int]]
        Positions in ``sizes``, one list per request.

    Raises
    ------
    ValueError
        An entry alone is over ``max_bytes`` (the publisher rejects those earlier, with
        :class:`EventTooLargeError`).

    Examples
    --------
    >>> plan_batches([1] * 12)
    [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [10, 11]]
    >>> plan_batches([100_000, 100_000, 100_000, 10])
    [[0, 1], [2, 3]]

    """
    batches: list[list[int]] = []
    current: list[int] = []
    current_bytes = 0
    for position, size in enumerate(sizes):
        if size > max_bytes:
            raise ValueError(f"entry {position} is {size} bytes, over max_bytes ({max_bytes})")
        if current and (len(current) == max_entries or current_bytes + size > max_bytes):
            batches.append(current)
            current, current_bytes = [], 0
        current.append(position)
        current_bytes += size
    if current:
        batches.append(current)
    return batches


def _dumps(detail: Mapping[str, Any], default: Callable[[Any], Any] | None) -> str:
    # Compact separators: every byte counts against the 256 KB; non-ASCII stays UTF-8 (one
    # escape would cost six bytes).
    return json.dumps(detail, separators=(",", ":"), ensure_ascii=False, default=default)


def _find_correlation_id(detail: Any) -> str | None:
    """The correlation id a detail carries, looked up as the consumer runtime does."""
    if not isinstance(detail, Mapping):
        return None
    places: list[Any] = [detail, detail.get("metadata")]
    for place in places:
        if isinstance(place, Mapping):
            for name in CORRELATION_FIELDS:
                if place.get(name) is not None:
                    return str(place[name])
    return None


@dataclass
class _Pending:
    """An event ready to send: its final entry, size and correlation id."""

    index: int
    entry: dict[str, Any]
    size: int
    correlation_id: str
    attempts: int = 0


@dataclass(frozen=True)
class _Outcome:
    event_id: str | None
    error_code: str = ""
    error_message: str = ""


def _default_client() -> PutEventsClient:
    import boto3

    # botocore's standard retry mode retries a throttled or failed *request* (and connection
    # errors) with its own jittered backoff and a retry quota; the publisher's loop handles what
    # botocore cannot see: entries failed inside a successful response.
    client: PutEventsClient = boto3.client("events", config=Config(retries={"mode": "standard"}))
    return client


class EventPublisher:
    """Publish events through ``PutEvents``: batched, failed entries retried, nothing dropped.

    The entry-level retry is a small loop of its own, not botocore's retry handler nor a
    general retry library: those retry a *call* that raised, while a ``PutEvents`` call that
    partly failed succeeds (HTTP 200) and only some of its entries must be sent again, with
    the entries already accepted left out (sending them again would publish them twice).
    Whole-request failures are retried first by botocore (standard mode, on the client this
    class creates); one that still escapes fails every entry of the request with the
    request's error code, and those entries then follow the same rule as the others (retried
    when the code is retriable, within the same attempt budget).

    An instance holds no per-call state: share one per process (boto3 clients are thread-safe).

    Parameters
    ----------
    client
        A boto3 ``events`` client (or anything with its ``put_events``); default: a new one
        with botocore's standard retry mode, from the environment's region and credentials.
    event_bus_name
        The bus of events that name none (name or ARN); ``None`` leaves ``EventBusName`` out,
        which is the account's ``default`` bus.
    retry
        The backoff and attempt budget for retriable failures.
    max_entries
        Entries per request (at most :data:`MAX_ENTRIES_PER_REQUEST`).
    max_request_bytes
        Bytes per request (at most :data:`MAX_REQUEST_BYTES`); also the largest event.
    json_default
        ``default`` for ``json.dumps`` of mapping details (e.g. ``str`` for ``Decimal``).
    sleep
        Called with the seconds to wait between retry rounds (tests pass a recorder).
    random_fraction
        Returns a float in ``[0, 1)``: the jitter (tests pass a constant).

    Raises
    ------
    ValueError
        ``max_entries`` or ``max_request_bytes`` outside what ``PutEvents`` accepts.

    Examples
    --------
    >>> publisher = EventPublisher(event_bus_name="ads-campaigns")  # doctest: +SKIP
    >>> result = publisher.publish(  # doctest: +SKIP
    ...     [{"Source": "ads.campaigns", "DetailType": "CampaignBudgetChanged",
    ...       "Detail": {"campaignId": 7, "newBudget": 1500}}],
    ...     correlation_id="req-42",
    ... )
    >>> for failure in result.failed:  # doctest: +SKIP
    ...     park_for_later(failure.entry, failure.error_code)

    """

    def __init__(
        self,
        client: PutEventsClient | None = None,
        *,
        event_bus_name: str | None = None,
        retry: RetryPolicy = RetryPolicy(),
        max_entries: int = MAX_ENTRIES_PER_REQUEST,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        json_default: Callable[[Any], Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        if not 1 <= max_entries <= MAX_ENTRIES_PER_REQUEST:
            raise ValueError(
                f"max_entries must be between 1 and {MAX_ENTRIES_PER_REQUEST}, got {max_entries}"
            )
        if not 1 <= max_request_bytes <= MAX_REQUEST_BYTES:
            raise ValueError(
                f"max_request_bytes must be between 1 and {MAX_REQUEST_BYTES}, "
                f"got {max_request_bytes}"
            )
        self.client: PutEventsClient = client if client is not None else _default_client()
        self.event_bus_name = event_bus_name
        self.retry = retry
        self.max_entries = max_entries
        self.max_request_bytes = max_request_bytes
        self._json_default = json_default
        self._sleep = sleep
        self._random_fraction = random_fraction

    # -- the call -----------------------------------------------------------------------------

    def publish(
        self,
        events: Iterable[EventEntry | Mapping[str, Any]],
        *,
        correlation_id: str | None = None,
    ) -> PublishResult:
        """Publish ``events``; return what was accepted and what failed for good.

        Every event is checked and stamped first; only then is anything sent, so an invalid
        event fails the call before any of its events reach the bus. Then requests are sent in
        the caller's order; entries that failed with a retriable code are sent again together
        after a backoff, until they are accepted or :attr:`RetryPolicy.max_attempts` is spent.

        Parameters
        ----------
        events
            :class:`EventEntry` objects or ``PutEventsRequestEntry`` dicts (``Source``,
            ``DetailType``, ``Detail`` as a mapping or JSON text, optional ``EventBusName``,
            ``Resources``, ``Time``, ``TraceHeader``).
        correlation_id
            The id to stamp on details that carry none; default: the one of the enclosing
            :func:`correlation_id` block, else a new one.

        Returns
        -------
        PublishResult
            Every event, accepted (with its ``EventId``) or failed for good (with its
            ``ErrorCode``); see :meth:`PublishResult.raise_for_failures`.

        Raises
        ------
        EventTooLargeError
            An event is over the size limit (nothing was sent).
        InvalidEventError
            An event is malformed: a missing or unknown field, a detail that is not a JSON
            object (nothing was sent).

        """
        chosen = correlation_id or current_correlation_id() or new_correlation_id()
        pending = [self._prepare(index, event, chosen) for index, event in enumerate(events)]
        total = len(pending)
        accepted: list[AcceptedEntry] = []
        failed: list[FailedEntry] = []
        requests = 0
        attempt = 1
        while pending:
            again: list[_Pending] = []
            for batch in plan_batches(
                [item.size for item in pending],
                max_entries=self.max_entries,
                max_bytes=self.max_request_bytes,
            ):
                items = [pending[position] for position in batch]
                outcomes = self._send(items)
                requests += 1
                for item, outcome in zip(items, outcomes, strict=True):
                    item.attempts += 1
                    if outcome.event_id is not None:
                        accepted.append(
                            AcceptedEntry(
                                item.index, outcome.event_id, item.correlation_id, item.attempts
                            )
                        )
                    elif self.retry.is_retriable(outcome.error_code) and (
                        attempt < self.retry.max_attempts
                    ):
                        again.append(item)
                    else:
                        failed.append(self._failure(item, outcome))
            if again:
                delay = self.retry.delay(attempt, self._random_fraction())
                _LOGGER.debug(
                    "Retrying %d failed PutEvents entries in %.3f s (attempt %d of %d)",
                    len(again),
                    delay,
                    attempt + 1,
                    self.retry.max_attempts,
                )
                self._sleep(delay)
            pending = again
            attempt += 1
        if failed:
            _LOGGER.warning(
                "%d of %d events failed for good (first: %s: %s); they are in the result's "
                "`failed`",
                len(failed),
                total,
                failed[0].error_code,
                failed[0].error_message,
            )
        return PublishResult(
            correlation_id=chosen,
            total=total,
            accepted=tuple(sorted(accepted, key=lambda entry: entry.index)),
            failed=tuple(sorted(failed, key=lambda entry: entry.index)),
            requests=requests,
        )

    # -- before sending -----------------------------------------------------------------------

    def _prepare(self, index: int, event: EventEntry | Mapping[str, Any], chosen: str) -> _Pending:
        """Check one event, stamp its correlation id and measure it; raise before sending."""
        if isinstance(event, EventEntry):
            entry = event.to_entry()
        elif isinstance(event, Mapping):
            entry = dict(event)
        else:
            raise InvalidEventError(
                index,
                f"expected an EventEntry or a PutEvents entry dict, got {type(event).__name__}",
            )
        unknown = sorted(set(entry) - _ENTRY_FIELDS)
        if unknown:
            raise InvalidEventError(
                index,
                f"unknown PutEvents entry field(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(sorted(_ENTRY_FIELDS))}",
            )
        for name in ("Source", "DetailType"):
            if not isinstance(entry.get(name), str) or not entry[name]:
                raise InvalidEventError(index, f"{name} must be a non-empty string")
        if entry.get("EventBusName") is None:
            entry.pop("EventBusName", None)
            if self.event_bus_name is not None:
                entry["EventBusName"] = self.event_bus_name
        resources = entry.get("Resources")
        if resources is not None and (
            isinstance(resources, str) or not all(isinstance(r, str) for r in resources)
        ):
            raise InvalidEventError(index, "Resources must be a list of ARN strings")
        entry["Detail"], found = self._stamped_detail(index, entry.get("Detail"), chosen)
        size = entry_size(entry)
        if size > self.max_request_bytes:
            raise EventTooLargeError(
                index, size, self.max_request_bytes, entry["Source"], entry["DetailType"]
            )
        return _Pending(index=index, entry=entry, size=size, correlation_id=found)

    def _stamped_detail(self, index: int, detail: Any, chosen: str) -> tuple[str, str]:
        """The detail's JSON text with a correlation id, and that id.

        A detail that already carries one (as the consumer runtime looks it up) keeps it, and
        a JSON-text detail is then sent byte for byte as given.
        """
        if isinstance(detail, str):
            try:
                parsed = json.loads(detail)
            except ValueError as exc:
                raise InvalidEventError(index, f"Detail is not valid JSON ({exc})") from exc
        elif isinstance(detail, Mapping):
            parsed = detail
        elif detail is None:
            raise InvalidEventError(index, "Detail is required (a JSON object)")
        else:
            raise InvalidEventError(
                index, f"Detail must be a mapping or its JSON text, got {type(detail).__name__}"
            )
        if not isinstance(parsed, Mapping):
            raise InvalidEventError(
                index, f"Detail must be a JSON object, got a JSON {type(parsed).__name__}"
            )
        existing = _find_correlation_id(parsed)
        if existing is not None:
            return (detail if isinstance(detail, str) else self._dump(index, parsed)), existing
        return self._dump(index, {**parsed, CORRELATION_ID_FIELD: chosen}), chosen

    def _dump(self, index: int, detail: Mapping[str, Any]) -> str:
        try:
            return _dumps(detail, self._json_default)
        except (TypeError, ValueError) as exc:
            raise InvalidEventError(
                index,
                f"Detail is not JSON-serializable ({exc}); pass json_default to the publisher "
                "(e.g. json_default=str) or convert the value",
            ) from exc

    # -- sending ------------------------------------------------------------------------------

    def _send(self, items: Sequence[_Pending]) -> list[_Outcome]:
        """One ``PutEvents`` request; one outcome per entry, whatever happened to the request."""
        try:
            response = self.client.put_events(Entries=[item.entry for item in items])
        except ClientError as exc:
            # The request as a whole was refused after botocore's own retries: none of its
            # entries was accepted, so each one fails with the request's error.
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "ClientError")
            return [_Outcome(None, code, str(error.get("Message") or exc))] * len(items)
        except ParamValidationError as exc:
            # botocore refused to build the request (e.g. a Time it cannot serialize): nothing
            # was sent, and the same entries fail the same way again.
            return [_Outcome(None, "ParamValidationError", str(exc))] * len(items)
        except BotoCoreError as exc:
            # No answer (connection, timeout) after botocore's retries: the entries may or may
            # not have been accepted, so they are reported, never assumed delivered.
            message = f"{exc} (no answer from EventBridge: the events may or may not be on the bus)"
            return [_Outcome(None, type(exc).__name__, message)] * len(items)
        results = list(response.get("Entries") or [])
        outcomes = []
        for position in range(len(items)):
            if position >= len(results):
                outcomes.append(
                    _Outcome(None, "MissingResultEntry", "PutEvents returned no result for it")
                )
                continue
            result = results[position]
            event_id = result.get("EventId")
            if event_id and not result.get("ErrorCode"):
                outcomes.append(_Outcome(str(event_id)))
            else:
                outcomes.append(
                    _Outcome(
                        None,
                        str(result.get("ErrorCode") or "UnknownError"),
                        str(result.get("ErrorMessage") or "PutEvents gave no EventId"),
                    )
                )
        return outcomes

    def _failure(self, item: _Pending, outcome: _Outcome) -> FailedEntry:
        return FailedEntry(
            index=item.index,
            entry=item.entry,
            correlation_id=item.correlation_id,
            error_code=outcome.error_code,
            error_message=outcome.error_message,
            attempts=item.attempts,
            retriable=self.retry.is_retriable(outcome.error_code),
        )
