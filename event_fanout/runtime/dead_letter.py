"""Move a failing FIFO record to the consumer's dead-letter queue on its last receive.

A FIFO batch keeps order per message group: after a record fails, Powertools'
``SqsFifoPartialProcessor(skip_group_on_error=True)`` reports the group's later records failed
without running them. They are therefore received as often as the failing record, reach
``maxReceiveCount`` with it, and SQS's redrive policy dead-letters the healthy records together with
the poison one. Moving the failing record to the DLQ itself on its last allowed receive, and then
reporting it handled, lets the rest of its group run (in order, once) and leaves only the poison
record in the DLQ. Standard queues do not need this: their records do not wait for each other.

SQS's own redrive of a FIFO queue allows a few receives more than ``max_receive_count``: a crash
on the last allowed receive (the runtime never answered) does not dead-letter the healthy records
received with the failing one. The construct sets the DLQ URL and ``max_receive_count`` for FIFO
consumers and grants ``sqs:SendMessage`` on the DLQ (and, for a customer-managed key, the key use
it needs).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.config import Config

from event_fanout.runtime.constants import DEAD_LETTER_REASON_ATTRIBUTE
from event_fanout.runtime.settings import ConsumerSettings

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef

__all__ = ["DeadLetterQueue", "dead_letter_queue", "reset_dead_letter_queues"]

#: SQS accepts at most 10 message attributes; the failure reason is added only below that.
_MAX_MESSAGE_ATTRIBUTES = 10
#: The reason is for a person reading the DLQ; a traceback-sized reason would eat message size.
_MAX_REASON_LENGTH = 1024


def _message_attributes(record: SQSRecord, reason: str) -> dict[str, MessageAttributeValueTypeDef]:
    """The record's message attributes in ``SendMessage`` form, plus the failure reason.

    Lambda hands them over as ``{"stringValue", "binaryValue" (base64), "dataType"}``; the list
    values SQS reserves but does not implement are dropped.
    """
    raw: Mapping[str, Any] = record.raw_event.get("messageAttributes") or {}
    attributes: dict[str, MessageAttributeValueTypeDef] = {}
    for name, value in raw.items():
        data_type = value.get("dataType")
        if not data_type:
            continue
        if value.get("stringValue") is not None:
            attributes[name] = {"DataType": data_type, "StringValue": value["stringValue"]}
        elif value.get("binaryValue") is not None:
            binary = base64.b64decode(value["binaryValue"])
            attributes[name] = {"DataType": data_type, "BinaryValue": binary}
    if DEAD_LETTER_REASON_ATTRIBUTE in attributes or len(attributes) < _MAX_MESSAGE_ATTRIBUTES:
        attributes[DEAD_LETTER_REASON_ATTRIBUTE] = {
            "DataType": "String",
            "StringValue": reason[:_MAX_REASON_LENGTH] or "unknown",
        }
    return attributes


class DeadLetterQueue:
    """The consumer's DLQ, for failing FIFO records on their last receive.

    Parameters
    ----------
    queue_url
        URL of the dead-letter queue (FIFO, as the source queue is).
    max_receive_count
        The consumer's ``max_receive_count``: a record received that many times is on its last
        allowed receive. SQS's redrive policy allows a few more receives, for invocations that
        crash, and would then move the record and its group's waiting records itself.

    Examples
    --------
    >>> dlq = DeadLetterQueue("https://sqs.eu-west-1.amazonaws.com/1/dlq.fifo", 3)
    >>> dlq.is_last_receive(SQSRecord({"attributes": {"ApproximateReceiveCount": "3"}}))
    True

    """

    def __init__(self, queue_url: str, max_receive_count: int) -> None:
        self.queue_url = queue_url
        self.max_receive_count = max_receive_count
        self._client: SQSClient | None = None

    def is_last_receive(self, record: SQSRecord) -> bool:
        """Whether a failure now is the record's last allowed one (the runtime then moves it)."""
        try:
            count = int(record.attributes.approximate_receive_count)
        except (KeyError, TypeError, ValueError):
            return False
        return count >= self.max_receive_count

    def send(self, record: SQSRecord, reason: str) -> None:
        """Send the record's original body to the DLQ, in its message group.

        The deduplication id is the source message id, so a repeated send of the same message
        within SQS's five-minute deduplication window is stored once.

        Raises
        ------
        botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError
            The message could not be sent (after botocore's standard retries); the caller then
            leaves the record failed, for SQS's redrive policy to move.

        """
        group_id = record.attributes.message_group_id
        if not group_id:
            raise ValueError(f"record {record.message_id} has no MessageGroupId: not a FIFO record")
        self._sqs().send_message(
            QueueUrl=self.queue_url,
            MessageBody=record.body,
            MessageGroupId=group_id,
            MessageDeduplicationId=record.message_id,
            MessageAttributes=_message_attributes(record, reason),
        )

    def _sqs(self) -> SQSClient:
        # Created on the first record that needs it: a cold start (or a batch without a poison
        # record) costs no client. Standard retry mode: retries throttling with backoff.
        if self._client is None:
            self._client = boto3.client("sqs", config=Config(retries={"mode": "standard"}))
        return self._client


@functools.cache
def _cached_dead_letter_queue(queue_url: str, max_receive_count: int) -> DeadLetterQueue:
    return DeadLetterQueue(queue_url, max_receive_count)


def dead_letter_queue(settings: ConsumerSettings) -> DeadLetterQueue | None:
    """The DLQ failing FIFO records are moved to, or ``None`` when the consumer sets none.

    Parameters
    ----------
    settings
        The consumer's settings; the DLQ is cached per URL and ``max_receive_count``.

    Returns
    -------
    DeadLetterQueue | None
        ``None`` for a consumer without ``EVENT_FANOUT_DEAD_LETTER_QUEUE_URL`` (standard queues).

    Examples
    --------
    >>> dead_letter_queue(ConsumerSettings.from_env("Audit", {"IDEMPOTENCY_TABLE_NAME": "t"}))
    >>> s = ConsumerSettings.from_env("Audit", {
    ...     "IDEMPOTENCY_TABLE_NAME": "t",
    ...     "EVENT_FANOUT_DEAD_LETTER_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/dlq.fifo",
    ...     "EVENT_FANOUT_MAX_RECEIVE_COUNT": "5",
    ... })
    >>> dead_letter_queue(s).max_receive_count
    5

    """
    if settings.dead_letter_queue_url is None or settings.max_receive_count is None:
        return None
    return _cached_dead_letter_queue(settings.dead_letter_queue_url, settings.max_receive_count)


def reset_dead_letter_queues() -> None:
    """Forget cached DLQs and their SQS clients, e.g. after a test's moto mock went away.

    Examples
    --------
    >>> reset_dead_letter_queues()

    """
    _cached_dead_letter_queue.cache_clear()
