"""Run each EventBridge event at most once per idempotency key, on Powertools' idempotency utility.

The key is a JMESPath over the *EventBridge event* (default: its ``id``), never the SQS
``messageId``: EventBridge retries and producer re-publishes reach the queue as new messages with
new message ids, so keying on the message would let them through.

Two things Powertools would otherwise let through are settled before it hashes the event: a
composite key (``[detail.campaignId, detail.version]``) with a null part fails the record, and
numbers are normalized (``3.0`` is ``3``) so the same fact is one key and one payload hash.

One runner (persistence layer + config) is built per consumer settings on first use and cached:
cold start does not touch DynamoDB, and tests can build it inside a moto mock.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jmespath
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyKeyError
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.jmespath_utils import PowertoolsFunctions
from aws_lambda_powertools.utilities.typing import LambdaContext
from jmespath.lexer import Lexer

from event_fanout.runtime.constants import (
    IDEMPOTENCY_EXPIRY_ATTRIBUTE,
    IDEMPOTENCY_KEY_ATTRIBUTE,
    REPLAY_NAME_FIELD,
    REPROCESS_REPLAY_PREFIX,
)
from event_fanout.runtime.settings import ConsumerSettings

__all__ = [
    "FirstRun",
    "IdempotencyKeyPartMissingError",
    "IdempotentRunner",
    "KeyPath",
    "Replayed",
    "idempotent_runner",
    "normalize_numbers",
    "reset_runners",
]


@dataclass(frozen=True, slots=True)
class FirstRun:
    """The handler ran for this key now."""


@dataclass(frozen=True, slots=True)
class Replayed:
    """The key was already completed; the handler was not run.

    ``first_delivery`` is what the first run stored (its event id and SQS message id), so the log
    line of a duplicate can point at the delivery that had the effect.
    """

    first_delivery: dict[str, Any] | None


class IdempotencyKeyPartMissingError(IdempotencyKeyError):
    """A composite key has a null part (a missing or misspelled field).

    Powertools only treats a multiselect key as missing when *every* part is null, so
    ``[detail.campaignID, detail.version]`` (note the spelling) would make ``[null, 1]`` the key
    of every campaign and skip all but the first as duplicates. It subclasses Powertools'
    ``IdempotencyKeyError`` so it fails the record like a key that finds nothing.

    Attributes
    ----------
    key_path
        The key's JMESPath.
    null_parts
        One description per null part, e.g. ``part 1 of 2 (`detail.campaignID`)``.

    """

    def __init__(self, key_path: str, null_parts: tuple[str, ...]) -> None:
        self.key_path = key_path
        self.null_parts = null_parts
        self.reason = (
            f"{', '.join(null_parts)} of the composite key {key_path} "
            f"{'is' if len(null_parts) == 1 else 'are'} null; every part of a composite key "
            "must have a value (a missing or misspelled field would make different events one key)"
        )
        super().__init__(self.reason)


#: Tokens that open and close a nested group in a JMESPath expression (``[?`` opens a filter).
_OPENERS = frozenset({"lbracket", "lbrace", "lparen", "filter"})
_CLOSERS = frozenset({"rbracket", "rbrace", "rparen"})
_MULTISELECTS = frozenset({"multi_select_list", "multi_select_dict"})


def _final_node(node: Any) -> Any:
    """The AST node that produces an expression's value (``a.b | [c, d]`` -> ``[c, d]``)."""
    while node["type"] in ("subexpression", "pipe"):
        node = node["children"][-1]
    return node


def _part_sources(expression: str, count: int) -> tuple[str, ...] | None:
    """The source text of each part of the multiselect that ends ``expression``.

    Text, not an unparsed AST, so a log line shows the part as the user wrote it. The multiselect
    producing the value is the trailing bracket group of the expression; its parts are split at
    the commas outside nested groups. ``None`` when the split does not give ``count`` parts.
    """
    tokens = list(Lexer().tokenize(expression))[:-1]  # drop "eof"
    if not tokens or tokens[-1]["type"] not in ("rbracket", "rbrace"):
        return None
    depth = 0
    opener = -1
    for index in range(len(tokens) - 1, -1, -1):
        kind = tokens[index]["type"]
        depth += (kind in _CLOSERS) - (kind in _OPENERS)
        if depth == 0:
            opener = index
            break
    if opener < 0:
        return None
    # NOTE: a token's "start" is reliable, its "end" is not for literals (jmespath 1.x lexer).
    parts: list[str] = []
    begin = tokens[opener]["start"] + 1
    for token in tokens[opener + 1 : -1]:
        depth += (token["type"] in _OPENERS) - (token["type"] in _CLOSERS)
        if token["type"] == "comma" and depth == 0:
            parts.append(expression[begin : token["start"]].strip())
            begin = token["start"] + 1
    parts.append(expression[begin : tokens[-1]["start"]].strip())
    return tuple(parts) if len(parts) == count else None


class KeyPath:
    """An idempotency key path, compiled once, that rejects composite keys with a null part.

    Parameters
    ----------
    expression
        The key's JMESPath (already validated by :class:`ConsumerSettings`).

    Examples
    --------
    >>> KeyPath("[detail.campaignId, detail.version]").null_parts(
    ...     {"detail": {"campaignId": 7, "version": 2}}
    ... )
    ()
    >>> KeyPath("[detail.campaignID, detail.version]").null_parts(  # misspelled
    ...     {"detail": {"campaignId": 7, "version": 2}}
    ... )
    ('part 1 of 2 (`detail.campaignID`)',)
    >>> KeyPath("id").null_parts({})  # a single key: Powertools' own missing-key check
    ()

    """

    def __init__(self, expression: str) -> None:
        self.expression = expression
        self._compiled = jmespath.compile(expression)
        # The functions Powertools' persistence layer evaluates the key with (powertools_json...).
        self._options = jmespath.Options(custom_functions=PowertoolsFunctions())
        final = _final_node(self._compiled.parsed)
        self._part_count = len(final["children"]) if final["type"] in _MULTISELECTS else 0
        self._sources = _part_sources(expression, self._part_count) if self._part_count else None

    def value(self, event: dict[str, Any]) -> Any:
        """The key's value in ``event``, as Powertools' persistence layer computes it."""
        return self._compiled.search(event, options=self._options)

    def null_parts(self, event: dict[str, Any]) -> tuple[str, ...]:
        """Describe the null parts of ``event``'s composite key; empty when none (or not composite).

        A key that evaluates to null as a whole is left to Powertools, which reports it missing.
        """
        if not self._part_count:
            return ()
        value = self.value(event)
        parts = list(value.values()) if isinstance(value, dict) else value
        if not isinstance(parts, list):
            return ()
        return tuple(self._describe(index) for index, part in enumerate(parts) if part is None)

    def check(self, event: dict[str, Any]) -> None:
        """Raise :class:`IdempotencyKeyPartMissingError` when a part of the key is null."""
        missing = self.null_parts(event)
        if missing:
            raise IdempotencyKeyPartMissingError(self.expression, missing)

    def _describe(self, index: int) -> str:
        where = f"part {index + 1} of {self._part_count}"
        return f"{where} (`{self._sources[index]}`)" if self._sources else where


def normalize_numbers(value: Any) -> Any:
    """Write every integral float as an int, through nested dicts and lists.

    JSON has one number type, but ``json.loads`` returns ``3`` and ``3.0`` (or ``1e1`` and
    ``10``) as an int and a float, which Powertools hashes differently: the same key spelled
    differently would run the handler twice, and the same payload would be a false payload
    mismatch that dead-letters the record. Booleans (ints in Python) and non-integral or
    non-finite floats are left as they are; the input is not modified.

    Parameters
    ----------
    value
        A decoded JSON value.

    Returns
    -------
    Any
        The same value with integral floats as ints.

    Examples
    --------
    >>> normalize_numbers({"version": 3.0, "budget": 75.5, "flags": [True, 1e1]})
    {'version': 3, 'budget': 75.5, 'flags': [True, 10]}

    """
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {key: normalize_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalize_numbers(item) for item in value]
    return value


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Replayed:
    return Replayed(first_delivery=response if isinstance(response, dict) else None)


def _invoke(*, event: dict[str, Any], call: Callable[[], None], message_id: str) -> dict[str, Any]:
    call()
    return {"eventId": event.get("id"), "messageId": message_id}


class IdempotentRunner:
    """Powertools idempotency configured for one consumer.

    Parameters
    ----------
    settings
        Table, key path, key prefix, expiry and payload-validation path.
    use_local_cache
        Also remember completed keys in the execution environment (Powertools' LRU cache), which
        saves the DynamoDB call for a duplicate seen by the same warm container.

    """

    def __init__(self, settings: ConsumerSettings, *, use_local_cache: bool = False) -> None:
        self.settings = settings
        self.use_local_cache = use_local_cache
        self._context: LambdaContext | None = None
        self.key_path = KeyPath(settings.key_path)
        self.config = IdempotencyConfig(
            event_key_jmespath=settings.key_path,
            payload_validation_jmespath=settings.payload_validation_path,
            # An event without the key must fail, not run un-deduplicated (Powertools' default).
            raise_on_no_idempotency_key=True,
            expires_after_seconds=settings.expires_after_seconds,
            use_local_cache=use_local_cache,
            response_hook=_mark_replayed,
        )
        self.persistence_layer = DynamoDBPersistenceLayer(
            table_name=settings.table_name,
            key_attr=IDEMPOTENCY_KEY_ATTRIBUTE,
            expiry_attr=IDEMPOTENCY_EXPIRY_ATTRIBUTE,
        )
        self._run: Callable[..., Any] = idempotent_function(
            _invoke,
            data_keyword_argument="event",
            persistence_store=self.persistence_layer,
            config=self.config,
            key_prefix=settings.key_prefix,
        )

    def register_lambda_context(self, context: LambdaContext | None) -> None:
        """Let in-progress records expire with this invocation's remaining time.

        A record left IN_PROGRESS by an invocation that crashed or timed out then becomes
        claimable again once that invocation could no longer be running, instead of blocking the
        key until the (days-long) record expiry.
        """
        self._context = context
        self.config.register_lambda_context(context)  # type: ignore[arg-type]

    def for_event(self, event: Mapping[str, Any]) -> IdempotentRunner:
        """The runner that keys ``event``: this one, or for a reprocessing replay that replay's.

        A replay named ``reprocess-...`` (``constants.REPROCESS_REPLAY_PREFIX``) keys its
        events under ``<key prefix>#<replay name>``: an event processed before runs again, and
        a redelivery of the replayed event within that replay is still skipped. Events of
        other replays keep their usual keys, so a replay is safe by default.
        """
        replay = event.get(REPLAY_NAME_FIELD)
        if not isinstance(replay, str) or not replay.startswith(REPROCESS_REPLAY_PREFIX):
            return self
        settings = dataclasses.replace(
            self.settings, key_prefix=f"{self.settings.key_prefix}#{replay}"
        )
        runner = _cached_runner(settings, self.use_local_cache)
        runner.register_lambda_context(self._context)
        return runner

    def run(
        self, event: dict[str, Any], call: Callable[[], None], message_id: str
    ) -> FirstRun | Replayed:
        """Run ``call`` unless ``event``'s key is already completed.

        The key and payload hashes are computed on ``event`` with its numbers normalized
        (:func:`normalize_numbers`); a composite key with a null part fails before any table call.

        Raises what ``call`` raises (the key is then released so a retry can run it),
        :class:`IdempotencyKeyPartMissingError`, and Powertools'
        ``IdempotencyAlreadyInProgressError``, ``IdempotencyValidationError``,
        ``IdempotencyKeyError`` or ``IdempotencyPersistenceLayerError``.
        """
        event = normalize_numbers(event)
        self.key_path.check(event)
        result = self._run(event=event, call=call, message_id=message_id)
        return result if isinstance(result, Replayed) else FirstRun()


#: Runners are built once per settings; records on worker threads may ask for a reprocessing
#: replay's runner at the same time, and its boto3 client must be built once.
_RUNNERS_LOCK = threading.Lock()


def _cached_runner(settings: ConsumerSettings, use_local_cache: bool) -> IdempotentRunner:
    with _RUNNERS_LOCK:
        return _built_runner(settings, use_local_cache)


@functools.cache
def _built_runner(settings: ConsumerSettings, use_local_cache: bool) -> IdempotentRunner:
    return IdempotentRunner(settings, use_local_cache=use_local_cache)


def idempotent_runner(
    settings: ConsumerSettings, *, use_local_cache: bool = False
) -> IdempotentRunner:
    """Return the cached runner for these settings, building it (and its boto3 client) on first use.

    Parameters
    ----------
    settings
        The consumer's settings; equal settings share one runner.
    use_local_cache
        See :class:`IdempotentRunner`.

    Returns
    -------
    IdempotentRunner
        The runner; its DynamoDB client is created here, not at import.

    Examples
    --------
    >>> s = ConsumerSettings.from_env("Audit", {"IDEMPOTENCY_TABLE_NAME": "t"})
    >>> idempotent_runner(s) is idempotent_runner(s)
    True

    """
    return _cached_runner(settings, use_local_cache)


def reset_runners() -> None:
    """Forget cached runners, e.g. after a test's moto mock (and its clients) went away.

    Examples
    --------
    >>> reset_runners()

    """
    _built_runner.cache_clear()
