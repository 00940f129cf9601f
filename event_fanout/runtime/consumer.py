"""Turn ``def handle(event: EventBridgeEvent[...]) -> None`` into an SQS-batch Lambda handler.

Per record: unwrap the SQS body into the EventBridge event, run the handler at most once per
idempotency key, and report only failing records (partial batch response) so one poison message
never holds back, or re-runs, the rest of its batch.
"""

from __future__ import annotations

import inspect
import time
import typing
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

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

from event_fanout.runtime.events import EventBridgeEvent, parse_sqs_body
from event_fanout.runtime.exceptions import MalformedEventError
from event_fanout.runtime.idempotency import IdempotentRunner, Replayed, idempotent_runner
from event_fanout.runtime.observability import BatchTally, emit_batch_metrics, logger
from event_fanout.runtime.settings import ConsumerSettings

__all__ = ["FanoutConsumer", "fanout_consumer"]

EventT = TypeVar("EventT", bound=EventBridgeEvent[Any])

_DEFAULT_MODEL: type[EventBridgeEvent[Any]] = EventBridgeEvent[dict[str, Any]]


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


class FanoutConsumer(Generic[EventT]):
    """The Lambda handler a consumer module exports; call it as Lambda does: ``(event, context)``.

    Build it with :func:`fanout_consumer`. Configuration is read from the environment on each
    invocation (see ``docs/runtime.md``); the DynamoDB client is created on the first one.

    Attributes
    ----------
    handle
        The undecorated business function, for unit tests that bypass SQS and idempotency.
    model
        The pydantic model each SQS body is validated against.

    """

    def __init__(
        self,
        handle: Callable[[EventT], None],
        *,
        name: str | None = None,
        model: type[EventT] | None = None,
        use_local_cache: bool = False,
    ) -> None:
        self.handle = handle
        self.model: type[EventT] = model or _model_from_signature(handle)  # type: ignore[assignment]
        self._default_name = name or f"{handle.__module__}.{handle.__qualname__}"
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
        settings = ConsumerSettings.from_env(self._default_name)
        runner = idempotent_runner(settings, use_local_cache=self._use_local_cache)
        runner.register_lambda_context(context)
        tally = BatchTally()

        def record_handler(record: SQSRecord) -> str:
            return self._process_record(record, runner, tally)

        records = event.get("Records") or [{}]
        fifo = str(records[0].get("eventSourceARN", "")).endswith(".fifo")
        request_id = getattr(context, "aws_request_id", None)
        with logger.append_context_keys(
            consumer=settings.consumer_name, function_request_id=request_id
        ):
            try:
                response = process_partial_response(
                    event=event,
                    record_handler=record_handler,
                    processor=self._fifo_processor if fifo else self._processor,
                    context=context,
                )
                # Includes FIFO records skipped behind a failed record of their group.
                tally.failed = len(response["batchItemFailures"])
                return response
            finally:
                emit_batch_metrics(settings, tally)

    def _process_record(
        self, record: SQSRecord, runner: IdempotentRunner, tally: BatchTally
    ) -> str:
        message_id = record.message_id
        receive_count = record.attributes.approximate_receive_count
        try:
            raw, event = parse_sqs_body(record.body, message_id, self.model)
        except MalformedEventError as exc:
            tally.failed += 1
            tally.malformed += 1
            with logger.append_context_keys(
                message_id=message_id, correlation_id=message_id, receive_count=receive_count
            ):
                logger.error(
                    "Malformed record reported as failed; after max_receive_count receives the "
                    "queue moves it to the dead-letter queue",
                    extra={"reason": exc.reason},
                )
            raise

        keys: dict[str, Any] = {
            "message_id": message_id,
            "event_id": event.id,
            "correlation_id": event.correlation_id or event.id,
            "source": event.source,
            "detail_type": event.detail_type,
            "receive_count": receive_count,
        }
        if event.tenant_id is not None:
            keys["tenant_id"] = event.tenant_id
        if event.event_version is not None:
            keys["event_version"] = event.event_version

        with logger.append_context_keys(**keys):
            started = time.perf_counter()
            try:
                outcome = runner.run(raw, lambda: self.handle(event), message_id)
            except IdempotencyValidationError:
                tally.failed += 1
                tally.payload_mismatch += 1
                logger.error(
                    "Idempotency key reused with a different payload; record reported as failed",
                    extra={
                        "key_path": runner.settings.key_path,
                        "payload_validation_path": runner.settings.payload_validation_path,
                    },
                )
                raise
            except IdempotencyAlreadyInProgressError:
                tally.failed += 1
                logger.warning(
                    "Same idempotency key is in progress in another invocation; record reported "
                    "as failed and retried after the visibility timeout"
                )
                raise
            except IdempotencyKeyError:
                tally.failed += 1
                logger.error(
                    "Idempotency key path found no value in the event; record reported as failed",
                    extra={"key_path": runner.settings.key_path},
                )
                raise
            except IdempotencyPersistenceLayerError:
                tally.failed += 1
                logger.exception("Idempotency table unavailable; record reported as failed")
                raise
            except Exception:
                tally.failed += 1
                logger.exception("Handler failed; record reported as failed and will be retried")
                raise
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


@overload
def fanout_consumer(handle: Callable[[EventT], None], /) -> FanoutConsumer[EventT]: ...


@overload
def fanout_consumer(
    *,
    name: str | None = None,
    model: type[EventT] | None = None,
    use_local_cache: bool = False,
) -> Callable[[Callable[[EventT], None]], FanoutConsumer[EventT]]: ...


def fanout_consumer(
    handle: Callable[[EventT], None] | None = None,
    /,
    *,
    name: str | None = None,
    model: type[EventT] | None = None,
    use_local_cache: bool = False,
) -> FanoutConsumer[EventT] | Callable[[Callable[[EventT], None]], FanoutConsumer[EventT]]:
    """Make an idempotent, partial-batch SQS Lambda handler out of a per-event function.

    The function states only the business effect of one EventBridge event; duplicates,
    redeliveries after a crash, poison messages, logging and metrics are handled around it.

    Parameters
    ----------
    handle
        ``def handle(event: EventBridgeEvent[Detail]) -> None``. Raise to have the record retried
        (and, after ``max_receive_count`` receives, dead-lettered); return to mark it done.
    name
        Consumer name when ``EVENT_FANOUT_CONSUMER`` is unset (local runs, tests). Defaults to the
        function's ``module.qualname``.
    model
        Event model, when the first parameter's annotation cannot be resolved at decoration
        time. Defaults to that annotation, else ``EventBridgeEvent[dict[str, Any]]``.
    use_local_cache
        Also remember completed keys in the warm execution environment (saves a DynamoDB call
        per duplicate seen by the same container).

    Returns
    -------
    FanoutConsumer
        The Lambda handler, called as ``handler(event, context)``.

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
    if handle is not None:
        return FanoutConsumer(handle, name=name, model=model, use_local_cache=use_local_cache)

    def decorate(function: Callable[[EventT], None]) -> FanoutConsumer[EventT]:
        return FanoutConsumer(function, name=name, model=model, use_local_cache=use_local_cache)

    return decorate
