"""Run each EventBridge event at most once per idempotency key, on Powertools' idempotency utility.

The key is a JMESPath over the *EventBridge event* (default: its ``id``), never the SQS
``messageId``: EventBridge retries and producer re-publishes reach the queue as new messages with
new message ids, so keying on the message would let them through.

One runner (persistence layer + config) is built per consumer settings on first use and cached:
cold start does not touch DynamoDB, and tests can build it inside a moto mock.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from event_fanout.runtime.constants import (
    IDEMPOTENCY_EXPIRY_ATTRIBUTE,
    IDEMPOTENCY_KEY_ATTRIBUTE,
)
from event_fanout.runtime.settings import ConsumerSettings

__all__ = ["FirstRun", "IdempotentRunner", "Replayed", "idempotent_runner", "reset_runners"]


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
        self.config.register_lambda_context(context)  # type: ignore[arg-type]

    def run(
        self, event: dict[str, Any], call: Callable[[], None], message_id: str
    ) -> FirstRun | Replayed:
        """Run ``call`` unless ``event``'s key is already completed.

        Raises what ``call`` raises (the key is then released so a retry can run it), and
        Powertools' ``IdempotencyAlreadyInProgressError``, ``IdempotencyValidationError``,
        ``IdempotencyKeyError`` or ``IdempotencyPersistenceLayerError``.
        """
        result = self._run(event=event, call=call, message_id=message_id)
        return result if isinstance(result, Replayed) else FirstRun()


@functools.cache
def _cached_runner(settings: ConsumerSettings, use_local_cache: bool) -> IdempotentRunner:
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
    _cached_runner.cache_clear()
