"""Fix for the order of a FIFO group after a receive times out (``fifo_redelivery_order``).

moto 5.2.5 frees a message handed out earlier (``pending_messages``) only when its receive loop
reaches it: the group still counts as in flight for the messages before it, so the next
receive skips the head of the group and returns later messages first (15 queued, 10 received
and timed out: the next receive gets m9, m10, ... instead of m0, m1, ...). SQS returns a FIFO
group in order. A poison record overtaken this way can reach its ``maxReceiveCount`` behind
healthy records, which SQS's redrive then dead-letters with it. The fix frees every message that
is visible again before moto's loop runs.
"""

from __future__ import annotations

import functools
from typing import Any

from event_fanout.local.moto_compat.guards import CompatFix, require_fingerprint

_RECEIVE_FINGERPRINT = "065f3e5e7d214408"


def _check() -> None:
    from moto.sqs.models import SQSBackend

    require_fingerprint(SQSBackend.receive_message, _RECEIVE_FINGERPRINT, "fifo_redelivery_order")


def _apply() -> None:
    from moto.sqs.models import SQSBackend

    original = SQSBackend.receive_message

    @functools.wraps(original)
    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        for message in [m for m in queue.pending_messages if m.visible]:
            queue.pending_messages.remove(message)  # its receive timed out: no longer in flight
        return original(self, queue_name, *args, **kwargs)

    receive_message._event_fanout_compat = True  # type: ignore[attr-defined]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]


#: The fixes of this module, in the order they are checked and applied.
FIXES: tuple[CompatFix, ...] = (
    CompatFix(
        "fifo_redelivery_order",
        "after a receive times out, a FIFO group's next receive skips the head of the group",
        _check,
        _apply,
    ),
)
