"""Turn ``def handle(event: EventBridgeEvent[...]) -> None`` into an SQS-batch Lambda handler.

Per record: unwrap the SQS body into the EventBridge event, run the handler at most once per
idempotency key, and report only failing records (partial batch response) so one poison message
never holds back, or re-runs, the rest of its batch.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import time
import typing
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, Protocol, TypeAlias, TypeVar, overload

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyKeyError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from event_fanout.runtime.constants import ENV_EVENT_TYPE, ENV_MAX_WORKERS, REPLAY_NAME_FIELD
from event_fanout.runtime.dead_letter import DeadLetterQueue, dead_letter_queue
from event_fanout.runtime.events import AcceptedVersions, EventBridgeEvent, parse_sqs_body
from event_fanout.runtime.exceptions import MalformedEventError, RuntimeConfigError
from event_fanout.runtime.idempotency import (
    IdempotencyKeyPartMissingError,
    IdempotentRunner,
    Replayed,
    idempotent_runner,
    normalize_numbers,
)
from event_fanout.runtime.observability import (
    BatchTally,
    emit_batch_metrics,
    logger,
    record_log_keys,
)
from event_fanout.runtime.parallel_batch import process_in_lanes
from event_fanout.runtime.settings import ConsumerSettings
from event_fanout.runtime.tracing import RecordTrace, record_trace

__all__ = ["FanoutHandler", "fanout_consumer"]

EventT = TypeVar("EventT", bound=EventBridgeEvent[Any])


#: Powertools' local idempotency cache (an ``OrderedDict``) is not safe across threads.
_LOCAL_CACHE_THREADS = (
    "use_local_cache cannot be combined with more than one worker thread (Powertools' local "
    "idempotency cache is not thread-safe): drop use_local_cache, or run one record at a time"
)


def _lane_of(fifo: bool, runner: IdempotentRunner, record: SQSRecord) -> Hashable:
    """A record's lane: its message group (FIFO), else its idempotency key, else its own.

    Records of one key in a batch then run in turn: the second is a duplicate of the first,
    not a conflict with a key in progress. A body the key cannot be read from runs alone (its
    own handling reports why).
    """
    if fifo:
        return ("group", record.attributes.message_group_id)
    try:
        raw = json.loads(record.body)
        keyed = runner.for_event(raw)
        key = keyed.key_path.value(normalize_numbers(raw))
    except Exception:
        return ("message", record.message_id)
    if key is None:
        return ("message", record.message_id)
    return ("key", keyed.settings.key_prefix, json.dumps(key, sort_keys=True, default=str))


class EventTypeLike(Protocol):
    """What the runtime reads of an :class:`~event_fanout.events.EventType` (no import of it)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> int: ...

    def event_model(self) -> type[EventBridgeEvent[Any]]: ...


#: What ``fanout_consumer`` decorates: ``def handle(event) -> None`` or ``async def handle(event)``.
HandleFunction: TypeAlias = Callable[[EventT], Awaitable[None] | None]

_DEFAULT_MODEL: type[EventBridgeEvent[Any]] = EventBridgeEvent[dict[str, Any]]


def _has_flag(handle: Callable[..., Any], test: Callable[[Any], bool]) -> bool:
    """Apply an ``inspect.is...function`` test to ``handle`` or, for an object, its ``__call__``.

    ``inspect`` already sees through ``functools.partial``; a callable object with an
    ``async def __call__`` is only recognized through its bound method.
    """
    return test(handle) or test(getattr(handle, "__call__", None))  # noqa: B004


def _describe(handle: Callable[..., Any]) -> str:
    return getattr(handle, "__qualname__", None) or repr(handle)


def _reject_generator_functions(handle: Callable[..., Any]) -> None:
    # Calling one only creates the generator: the body, the effect, would never run while the key
    # was marked completed, so the event would be lost without a trace.
    if _has_flag(handle, inspect.isasyncgenfunction):
        raise TypeError(
            f"{_describe(handle)} is an async generator function: fanout_consumer would only "
            "create the generator and never run its body. Write `async def handle(event) -> "
            "None` and await the work instead of yielding"
        )
    if _has_flag(handle, inspect.isgeneratorfunction):
        raise TypeError(
            f"{_describe(handle)} is a generator function: fanout_consumer would only create the "
            "generator and never run its body. Do the work in `def handle(event) -> None` "
            "and return None (or use `async def` for asynchronous work)"
        )


def _run_coroutine(coroutine: Any, handle: Callable[..., Any]) -> None:
    """Run an async handler's coroutine to completion on a fresh event loop (one per record).

    The key is completed only after this returns, so the effect has happened; what the coroutine
    raises fails the record.
    """
    if not inspect.iscoroutine(coroutine):
        _reject_unrun_result(coroutine, handle)
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    coroutine.close()
    raise RuntimeError(
        f"{_describe(handle)} is async and was called inside a running event loop; call the "
        "Lambda handler from synchronous code, as Lambda does (it runs each record with "
        "asyncio.run)"
    )


def _reject_unrun_result(result: Any, handle: Callable[..., Any]) -> None:
    """Fail the record when a handler returned work it never did (a coroutine, a generator).

    A sync wrapper (a lambda, a ``functools.partial`` of a wrapper, a decorator) around an async
    or generator function hides it from the decoration-time check; without this the key would be
    completed although the handler body never ran.
    """
    if inspect.iscoroutine(result) or inspect.isgenerator(result):
        kind = "coroutine" if inspect.iscoroutine(result) else "generator"
        result.close()  # never started: closing it suppresses "was never awaited"
    elif inspect.isasyncgen(result):
        kind = "async generator"
    elif inspect.isawaitable(result):
        kind = "awaitable"
    else:
        return
    raise TypeError(
        f"{_describe(handle)} returned a {kind} instead of handling the event: the event was "
        "not handled, so the record fails and its key stays free. Decorate the `async def` "
        "itself (fanout_consumer runs it with asyncio.run), or return None from a plain function"
    )


def _model_from_signature(handle: Callable[..., Any]) -> type[EventBridgeEvent[Any]]:
    parameters = list(inspect.signature(handle).parameters.values())
    if not parameters:
        raise TypeError(f"{handle.__qualname__} must take the event as its first parameter")
    try:
        hints = typing.get_type_hints(handle)
    except NameError as exc:
        raise TypeError(
            f"cannot resolve the annotations of {handle.__qualname__} ({exc}); "
            "pass the event model explicitly: fanout_consumer(model=EventBridgeEvent[MyDetail])"
        ) from exc
    annotation = hints.get(parameters[0].name)
    if isinstance(annotation, type) and issubclass(annotation, EventBridgeEvent):
        return annotation
    return _DEFAULT_MODEL


class FanoutHandler(Generic[EventT]):
    """The Lambda handler a consumer module exports; call it as Lambda does: ``(event, context)``.

    Build it with :func:`fanout_consumer`. Configuration is read from the environment on each
    invocation (see ``docs/runtime.md``); the DynamoDB client is created on the first one.

    Attributes
    ----------
    handle
        The undecorated business function, for unit tests that bypass SQS and idempotency
        (an ``async def`` one returns its coroutine).
    model
        The pydantic model each SQS body is validated against.
    event_type
        The event type it consumes, if it was given one: only its accepted versions are parsed.

    """

    def __init__(
        self,
        handle: HandleFunction[EventT],
        *,
        name: str | None = None,
        model: type[EventT] | None = None,
        use_local_cache: bool = False,
        event_type: EventTypeLike | None = None,
        max_workers: int | None = None,
    ) -> None:
        _reject_generator_functions(handle)
        if max_workers is not None and (
            isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1
        ):
            raise ValueError(f"max_workers must be an int of at least 1, got {max_workers!r}")
        if use_local_cache and (max_workers or 1) > 1:
            raise ValueError(_LOCAL_CACHE_THREADS)
        self.max_workers = max_workers
        self.handle = handle
        self.event_type = event_type
        self._is_async = _has_flag(handle, inspect.iscoroutinefunction)
        if model is None and event_type is not None:
            model = event_type.event_model()  # type: ignore[assignment]
        self.model: type[EventT] = model or _model_from_signature(handle)  # type: ignore[assignment]
        self._default_name = name or f"{handle.__module__}.{_describe(handle)}"
        self._use_local_cache = use_local_cache
        # The processor collects per-record results; Lambda runs one invocation at a time per
        # execution environment, so one instance per handler is safe.
        self._processor = BatchProcessor(
            event_type=EventType.SQS,
            # Every failing record is reported individually, even when all of them fail; the
            # runtime's Failed metric and the DLQ depth alarm are the signal, not a Lambda error.
            raise_on_entire_batch_failure=False,
        )
        # FIFO queues keep order per message group: after a failure, the group's later records
        # must not run before it (they are reported failed too); other groups carry on.
        self._fifo_processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        self._fifo_processor.raise_on_entire_batch_failure = False
        self.__doc__ = handle.__doc__
        self.__name__ = getattr(handle, "__name__", "handler")
        self.__qualname__ = getattr(handle, "__qualname__", self.__name__)
        self.__module__ = handle.__module__

    def __call__(
        self, event: dict[str, Any], context: LambdaContext | None = None
    ) -> PartialItemFailureResponse:
        """Handle one SQS batch and return ``{"batchItemFailures": [...]}``."""
        request_id = getattr(context, "aws_request_id", None)
        try:
            settings = ConsumerSettings.from_env(self._default_name)
            versions = self._accepted_versions(settings)
            workers = self._workers(settings)
        except RuntimeConfigError as exc:
            # One line per invocation, before any record: the batch is retried until the
            # environment is fixed, and no key is claimed or completed meanwhile.
            logger.error(
                "Consumer configuration error; invocation failed, no record was processed",
                extra={"reason": str(exc), "function_request_id": request_id},
            )
            raise
        runner = idempotent_runner(settings, use_local_cache=self._use_local_cache)
        runner.register_lambda_context(context)
        tally = BatchTally()
        #: On worker threads each record counts on its own tally, added up after the batch.
        record_tallies: list[BatchTally] = []

        records = event.get("Records") or [{}]
        fifo = str(records[0].get("eventSourceARN", "")).endswith(".fifo")
        # Standard queues leave a failing record to the redrive policy: nothing waits behind it.
        dead_letters = dead_letter_queue(settings) if fifo else None

        def record_handler(record: SQSRecord) -> str:
            own = tally
            if workers > 1:
                own = BatchTally()
                record_tallies.append(own)
            with record_trace(
                settings.tracing, settings.service_name, settings.consumer_name
            ) as trace:
                outcome = self._process_record(
                    record, runner, own, dead_letters, trace, versions, thread_local=workers > 1
                )
                trace.annotate(outcome=outcome)
                return outcome

        with logger.append_context_keys(
            consumer=settings.consumer_name, function_request_id=request_id
        ):
            try:
                if workers > 1:
                    response = process_in_lanes(
                        event.get("Records") or [],
                        record_handler,
                        lane_of=functools.partial(_lane_of, fifo, runner),
                        fifo=fifo,
                        max_workers=workers,
                    )
                else:
                    response = process_partial_response(
                        event=event,
                        record_handler=record_handler,
                        processor=self._fifo_processor if fifo else self._processor,
                        context=context,
                    )
                for part in record_tallies:
                    tally.add(part)
                # Includes FIFO records skipped behind a failed record of their group, and the
                # failed records moved to the DLQ (reported handled to SQS, failed for alarms).
                tally.failed = len(response["batchItemFailures"]) + tally.dead_lettered
                return response
            finally:
                emit_batch_metrics(settings, tally)

    def _workers(self, settings: ConsumerSettings) -> int:
        """Threads for this batch's records: the handler's ``max_workers``, else the env's."""
        workers = self.max_workers or settings.max_workers or 1
        if workers > 1 and self._use_local_cache:
            raise RuntimeConfigError(f"{ENV_MAX_WORKERS}={workers}: {_LOCAL_CACHE_THREADS}")
        return workers

    def _accepted_versions(self, settings: ConsumerSettings) -> AcceptedVersions | None:
        """The versions to accept: the construct's (its environment), else the type's own.

        A function deployed for another event type than its handler's is a configuration error
        of the whole invocation (no record is parsed with the wrong model).
        """
        if self.event_type is None:
            return None
        if settings.event_type and settings.event_type != self.event_type.name:
            raise RuntimeConfigError(
                f"{ENV_EVENT_TYPE} is {settings.event_type!r} but the handler consumes "
                f"{self.event_type.name!r}: deploy it with add_consumer(event_type=...) of its "
                "own event type"
            )
        return AcceptedVersions(
            self.event_type.name, settings.event_versions or (self.event_type.version,)
        )

    def _run_handler(self, event: EventT) -> None:
        """Run the handler for one event; returns only once its effect has happened."""
        result = self.handle(event)
        if self._is_async:
            _run_coroutine(result, self.handle)
        elif result is not None:
            _reject_unrun_result(result, self.handle)

    def _process_record(
        self,
        record: SQSRecord,
        runner: IdempotentRunner,
        tally: BatchTally,
        dead_letters: DeadLetterQueue | None,
        trace: RecordTrace | None = None,
        versions: AcceptedVersions | None = None,
        *,
        thread_local: bool = False,
    ) -> str:
        message_id = record.message_id
        receive_count = record.attributes.approximate_receive_count
        try:
            raw, event = parse_sqs_body(record.body, message_id, self.model, versions)
        except MalformedEventError as exc:
            tally.malformed += 1
            with record_log_keys(
                thread_local=thread_local,
                message_id=message_id,
                correlation_id=message_id,
                receive_count=receive_count,
            ):
                logger.error(
                    "Malformed record reported as failed; after max_receive_count receives the "
                    "queue moves it to the dead-letter queue",
                    extra={"reason": exc.reason},
                )
                return self._failed(record, exc, tally, dead_letters)

        runner = runner.for_event(raw)
        if trace is not None:
            trace.annotate(
                event_id=event.id,
                correlation_id=event.correlation_id or event.id,
                message_id=message_id,
            )
        keys: dict[str, Any] = {
            "message_id": message_id,
            "event_id": event.id,
            "correlation_id": event.correlation_id or event.id,
            "source": event.source,
            "detail_type": event.detail_type,
            "receive_count": receive_count,
        }
        if isinstance(replay := raw.get(REPLAY_NAME_FIELD), str):
            keys["replay_name"] = replay
        if event.tenant_id is not None:
            keys["tenant_id"] = event.tenant_id
        if event.event_version is not None:
            keys["event_version"] = event.event_version

        with record_log_keys(thread_local=thread_local, **keys):
            started = time.perf_counter()
            try:
                outcome = runner.run(raw, lambda: self._run_handler(event), message_id)
            except IdempotencyValidationError as exc:
                tally.payload_mismatch += 1
                logger.error(
                    "Idempotency key reused with a different payload; record reported as failed",
                    extra={
                        "key_path": runner.settings.key_path,
                        "payload_validation_path": runner.settings.payload_validation_path,
                    },
                )
                return self._failed(record, exc, tally, dead_letters)
            except IdempotencyAlreadyInProgressError:
                # Transient: the other invocation finishes or its deadline passes. Never moved to
                # the DLQ by the runtime, even on a last receive.
                tally.failed += 1
                logger.warning(
                    "Same idempotency key is in progress in another invocation; record reported "
                    "as failed and retried after the visibility timeout"
                )
                raise
            except IdempotencyKeyError as exc:
                extra: dict[str, Any] = {"key_path": runner.settings.key_path}
                if isinstance(exc, IdempotencyKeyPartMissingError):
                    extra["reason"] = exc.reason
                    extra["null_parts"] = list(exc.null_parts)
                logger.error(
                    "Idempotency key path found no value in the event; record reported as failed",
                    extra=extra,
                )
                return self._failed(record, exc, tally, dead_letters)
            except IdempotencyPersistenceLayerError as exc:
                logger.exception("Idempotency table unavailable; record reported as failed")
                return self._failed(record, exc, tally, dead_letters)
            except Exception as exc:
                logger.exception("Handler failed; record reported as failed and will be retried")
                return self._failed(record, exc, tally, dead_letters)
            duration_ms = round((time.perf_counter() - started) * 1000, 3)
            if isinstance(outcome, Replayed):
                tally.duplicate += 1
                logger.info(
                    "Duplicate event skipped: its idempotency key already completed",
                    extra={"first_delivery": outcome.first_delivery, "duration_ms": duration_ms},
                )
                return "duplicate"
            tally.processed += 1
            logger.info("Event processed", extra={"duration_ms": duration_ms})
            return "processed"

    @staticmethod
    def _failed(
        record: SQSRecord,
        failure: Exception,
        tally: BatchTally,
        dead_letters: DeadLetterQueue | None,
    ) -> str:
        """Report a failed record: raise ``failure``, or move the record to the DLQ and return.

        Called from the ``except`` block that caught ``failure``. On a FIFO record's last receive
        the record is sent to the DLQ here and reported handled, so the processor neither skips
        the rest of its message group nor has SQS dead-letter that group with it; if the send
        fails, ``failure`` is raised and SQS's redrive policy takes the record as it would
        without the move.
        """
        tally.failed += 1
        if dead_letters is None or not dead_letters.is_last_receive(record):
            raise failure
        reason = f"{type(failure).__name__}: {failure}"
        try:
            dead_letters.send(record, reason)
        except Exception:
            logger.exception(
                "Could not move the record to the dead-letter queue on its last receive; it "
                "stays failed and the queue's redrive policy moves it, with the records behind "
                "it in its message group",
                extra={"dead_letter_queue_url": dead_letters.queue_url},
            )
            sent = False
        else:
            sent = True
        if not sent:
            # Outside the except block: the send error is logged, not chained onto the failure.
            raise failure
        tally.dead_lettered += 1
        logger.error(
            "Failed record moved to the dead-letter queue on its last receive; the records "
            "behind it in its message group carry on",
            extra={
                "reason": reason,
                "dead_letter_queue_url": dead_letters.queue_url,
                "message_group_id": record.attributes.message_group_id,
                "max_receive_count": dead_letters.max_receive_count,
            },
        )
        return "dead-lettered"


@overload
def fanout_consumer(handle: HandleFunction[EventT], /) -> FanoutHandler[EventT]: ...


@overload
def fanout_consumer(
    *,
    name: str | None = None,
    model: type[EventT] | None = None,
    use_local_cache: bool = False,
    event_type: EventTypeLike | None = None,
    max_workers: int | None = None,
) -> Callable[[HandleFunction[EventT]], FanoutHandler[EventT]]: ...


def fanout_consumer(
    handle: HandleFunction[EventT] | None = None,
    /,
    *,
    name: str | None = None,
    model: type[EventT] | None = None,
    use_local_cache: bool = False,
    event_type: EventTypeLike | None = None,
    max_workers: int | None = None,
) -> FanoutHandler[EventT] | Callable[[HandleFunction[EventT]], FanoutHandler[EventT]]:
    """Make an idempotent, partial-batch SQS Lambda handler out of a per-event function.

    The function states only the business effect of one EventBridge event; duplicates,
    redeliveries after a crash, poison messages, logging and metrics are handled around it.

    Parameters
    ----------
    handle
        ``def handle(event: EventBridgeEvent[Detail]) -> None``, or ``async def`` (run to
        completion with ``asyncio.run`` per record). Raise to have the record retried (and, after
        ``max_receive_count`` receives, dead-lettered); return to mark it done.
    name
        Consumer name when ``EVENT_FANOUT_CONSUMER`` is unset (local runs, tests). Defaults to the
        function's ``module.qualname``.
    model
        Event model, when the first parameter's annotation cannot be resolved at decoration
        time. Defaults to that annotation, else ``EventBridgeEvent[dict[str, Any]]``.
    use_local_cache
        Also remember completed keys in the warm execution environment (saves a DynamoDB call
        per duplicate seen by the same container).
    event_type
        The :class:`~event_fanout.events.EventType` consumed: its model parses the detail
        (unless ``model`` is given), and an event of a version the consumer does not accept is a
        failed record with the reason, never a mis-parse. The versions are the construct's
        ``add_consumer(event_versions=...)`` (``EVENT_FANOUT_EVENT_VERSIONS``), else the type's.
    max_workers
        Run a batch's records on up to this many threads (default: ``EVENT_FANOUT_MAX_WORKERS``,
        else 1, one after another). Standard queues: any order, but records of one idempotency
        key in turn; FIFO queues: each message group in order, a failure stopping its group,
        groups side by side. The handler must be thread-safe (boto3 clients are; build them
        at import or under a lock). See :mod:`~event_fanout.runtime.parallel_batch`.

    Returns
    -------
    FanoutHandler
        The Lambda handler, called as ``handler(event, context)``.

    Raises
    ------
    TypeError
        ``handle`` is a generator or async generator function: calling it would only create the
        generator, so its effect would never happen while its key was marked done.

    Examples
    --------
    >>> from pydantic import BaseModel
    >>> class BudgetChanged(BaseModel):
    ...     campaignId: int
    ...     newBudget: float
    ...     version: int
    >>> @fanout_consumer
    ... def handler(event: EventBridgeEvent[BudgetChanged]) -> None:
    ...     logger.info("budget", extra={"budget": event.detail.newBudget})
    >>> handler.model.__name__
    'EventBridgeEvent[BudgetChanged]'

    With options:

    >>> @fanout_consumer(name="Audit")
    ... def audit(event: EventBridgeEvent[dict[str, Any]]) -> None:
    ...     pass

    """
    options: dict[str, Any] = {
        "name": name,
        "model": model,
        "use_local_cache": use_local_cache,
        "event_type": event_type,
        "max_workers": max_workers,
    }
    if handle is not None:
        return FanoutHandler(handle, **options)

    def decorate(function: HandleFunction[EventT]) -> FanoutHandler[EventT]:
        return FanoutHandler(function, **options)

    return decorate
