"""How long a consumer's message can live, and the values derived from it: pure functions.

Kept apart from the constructs so each rule reads (and is tested) on plain numbers of seconds.
"""

from __future__ import annotations

from typing import Final

#: AWS guidance for SQS event sources: visibility >= 6 x function timeout + batching window.
VISIBILITY_TIMEOUT_FACTOR: Final = 6


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
