"""How long a consumer's message can live, in time and in receives: pure functions.

Kept apart from the constructs so each rule reads (and is tested) on plain numbers.
"""

from __future__ import annotations

from typing import Final

#: AWS guidance for SQS event sources: visibility >= 6 x function timeout + batching window.
VISIBILITY_TIMEOUT_FACTOR: Final = 6
#: Receives SQS allows a FIFO record beyond ``max_receive_count`` before its redrive policy moves
#: it. The runtime dead-letters a failing FIFO record itself on receive ``max_receive_count``, so
#: only invocations that never answered (a crash, a timeout) use these.
FIFO_CRASH_RECEIVES: Final = 3
#: SQS's largest ``maxReceiveCount``.
MAX_RECEIVE_COUNT: Final = 1000


def message_lifetime_seconds(
    *, fifo: bool, retention_seconds: int, dead_letter_retention_seconds: int
) -> int:
    """The longest a message can still be delivered to the consumer after it was sent.

    A standard queue's DLQ keeps the message's original enqueue time, so the message is gone
    once the DLQ's retention has passed since it was *sent*. A FIFO queue's DLQ resets it (and
    the runtime's own move of a FIFO record on its last receive is a new message): the message
    can sit in the source queue for its whole retention, then in the DLQ for the DLQ's whole
    retention, and still be redriven.

    Examples
    --------
    >>> message_lifetime_seconds(fifo=False, retention_seconds=345600,
    ...                          dead_letter_retention_seconds=1209600)
    1209600
    >>> message_lifetime_seconds(fifo=True, retention_seconds=345600,
    ...                          dead_letter_retention_seconds=1209600)
    1555200

    """
    if fifo:
        return retention_seconds + dead_letter_retention_seconds
    return max(retention_seconds, dead_letter_retention_seconds)


def visibility_timeout_seconds(function_timeout_seconds: int, batching_window_seconds: int) -> int:
    """6 x the function's timeout + the batching window (AWS's guidance for Lambda SQS sources).

    Examples
    --------
    >>> visibility_timeout_seconds(30, 20)
    200

    """
    return VISIBILITY_TIMEOUT_FACTOR * function_timeout_seconds + batching_window_seconds


def redrive_max_receive_count(max_receive_count: int, *, fifo: bool) -> int:
    """The source queue's ``maxReceiveCount``: when SQS itself dead-letters a message.

    A standard queue leaves it to SQS: ``max_receive_count``. A FIFO group's healthy records
    are held back behind a failing one and received with it each time, so they reach the
    failing record's receive count. The runtime moves that record to the DLQ itself on receive
    ``max_receive_count`` and runs the rest; were SQS to redrive at the same count, one crashed
    or timed-out invocation on that receive would dead-letter every healthy record of the batch.
    SQS therefore allows :data:`FIFO_CRASH_RECEIVES` more receives (up to SQS's 1,000).

    Examples
    --------
    >>> redrive_max_receive_count(5, fifo=False)
    5
    >>> redrive_max_receive_count(5, fifo=True)
    8
    >>> redrive_max_receive_count(999, fifo=True)
    1000

    """
    if not fifo:
        return max_receive_count
    return min(max_receive_count + FIFO_CRASH_RECEIVES, MAX_RECEIVE_COUNT)
