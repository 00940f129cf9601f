"""Exceptions of the consumer runtime.

They live apart from ``event_fanout.errors`` (the construct side) so that the Lambda layer never
imports anything that needs aws_cdk.
"""

from __future__ import annotations


class EventFanoutRuntimeError(Exception):
    """Base class of every error the consumer runtime raises itself."""


class RuntimeConfigError(EventFanoutRuntimeError):
    """The function's environment is incomplete or invalid.

    Raised for the whole invocation (not per record): no record can be handled safely without its
    idempotency table, so the batch is retried until the configuration is fixed.
    """


class MalformedEventError(EventFanoutRuntimeError):
    """An SQS record's body is not the EventBridge event the consumer expects.

    The record is reported as failed so the queue's redrive policy moves it to the dead-letter
    queue after ``max_receive_count`` receives; the rest of the batch is unaffected.
    """

    def __init__(self, message_id: str, reason: str) -> None:
        super().__init__(f"SQS message {message_id} is not a valid EventBridge event: {reason}")
        self.message_id = message_id
        self.reason = reason


class UnacceptedEventVersionError(MalformedEventError):
    """An event of a version of its type that the consumer does not accept.

    Failed like a malformed record (reported failed, dead-lettered after ``max_receive_count``
    receives, with this reason in the log and, on FIFO queues, on the DLQ message): parsing it
    with the consumer's model could succeed and still mean something else.
    """

    def __init__(self, message_id: str, reason: str, *, version: object) -> None:
        super().__init__(message_id, reason)
        self.version = version
