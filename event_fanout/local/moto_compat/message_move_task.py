"""``StartMessageMoveTask`` / ``ListMessageMoveTasks`` for moto's SQS: DLQ redrive, locally."""

from __future__ import annotations

import inspect
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from event_fanout.local.moto_compat.guards import (
    MOTO_VERSION,
    CompatFix,
    MotoCompatError,
)

# -- sqs_message_move_task --------------------------------------------------------------------


@dataclass
class _MoveTask:
    handle: str
    source_arn: str
    destination_arn: str
    moved: int
    started_ms: int


_MOVE_TASKS: dict[str, list[_MoveTask]] = {}
_MOVE_LOCK = threading.Lock()


def _check_sqs_message_move_task() -> None:
    import botocore.session
    from moto.sqs.models import Queue
    from moto.sqs.responses import SQSResponse

    for method in ("start_message_move_task", "list_message_move_tasks"):
        existing = getattr(SQSResponse, method, None)
        if existing is not None and not getattr(existing, "_event_fanout_compat", False):
            raise MotoCompatError(
                f"moto compatibility fix 'sqs_message_move_task': moto now implements "
                f"SQSResponse.{method}; drop this fix."
            )
    operations = botocore.session.get_session().get_service_model("sqs").operation_names
    for operation in ("StartMessageMoveTask", "ListMessageMoveTasks"):
        if operation not in operations:
            raise MotoCompatError(f"botocore's SQS model has no {operation}")
    init_source = inspect.getsource(Queue)
    for attribute in ("_messages", "_messages_lock", "_pending_messages", "redrive_policy"):
        if f"self.{attribute}" not in init_source:
            raise MotoCompatError(
                f"moto compatibility fix 'sqs_message_move_task': moto's SQS Queue has no "
                f"{attribute} (written against moto {MOTO_VERSION})."
            )


def move_messages(
    backend: Any, source_arn: str, destination_arn: str | None
) -> tuple[str, int, str]:
    """Move every message of the DLQ ``source_arn`` to ``destination_arn`` (or its source).

    Runs synchronously (the task is COMPLETED when the call returns). Without a destination,
    the DLQ's source queue is the one queue whose redrive policy targets it, as in the common
    one-source case; several sources need an explicit ``DestinationArn``.

    Returns
    -------
    tuple[str, int, str]
        The task handle, the number of messages moved and the destination ARN.

    """
    from moto.sqs.exceptions import QueueDoesNotExist, SQSException

    queues = {queue.queue_arn: queue for queue in backend.queues.values()}
    source = queues.get(source_arn)
    if source is None:
        raise QueueDoesNotExist()
    if destination_arn is None:
        sources = [
            queue
            for queue in queues.values()
            if queue.redrive_policy
            and queue.redrive_policy.get("deadLetterTargetArn") == source_arn
        ]
        if len(sources) != 1:
            raise SQSException(
                "InvalidParameterValue",
                f"{source_arn} is the dead-letter queue of {len(sources)} queues; "
                "pass DestinationArn",
            )
        destination = sources[0]
    else:
        destination = queues.get(destination_arn)
        if destination is None:
            raise QueueDoesNotExist()
    with source._messages_lock:
        messages = list(source._messages)
        source._messages = []
        source._pending_messages.clear()
    for message in messages:
        backend.send_message(
            destination.name,
            message.body,
            message_attributes=message.message_attributes or None,
            group_id=message.group_id,
            deduplication_id=message.deduplication_id,
        )
    handle = str(uuid.uuid4())
    task = _MoveTask(handle, source_arn, destination.queue_arn, len(messages), _now_ms())
    with _MOVE_LOCK:
        _MOVE_TASKS.setdefault(source_arn, []).insert(0, task)
    return handle, len(messages), destination.queue_arn


def _now_ms() -> int:
    return int(time.time() * 1000)


def _apply_sqs_message_move_task() -> None:
    from moto.core.responses import ActionResult
    from moto.sqs.responses import SQSResponse

    if getattr(getattr(SQSResponse, "start_message_move_task", None), "_event_fanout_compat", 0):
        return

    def start_message_move_task(self: Any) -> Any:
        """``StartMessageMoveTask``: move a DLQ's messages back (synchronously)."""
        handle, _, _ = move_messages(
            self.sqs_backend, self._get_param("SourceArn"), self._get_param("DestinationArn")
        )
        return ActionResult({"TaskHandle": handle})

    def list_message_move_tasks(self: Any) -> Any:
        """``ListMessageMoveTasks``: the tasks started on this DLQ, newest first."""
        source_arn = self._get_param("SourceArn")
        max_results = int(self._get_param("MaxResults") or 1)
        with _MOVE_LOCK:
            tasks = list(_MOVE_TASKS.get(source_arn, []))[:max_results]
        results = [
            {
                "TaskHandle": task.handle,
                "Status": "COMPLETED",
                "SourceArn": task.source_arn,
                "DestinationArn": task.destination_arn,
                "ApproximateNumberOfMessagesMoved": task.moved,
                "ApproximateNumberOfMessagesToMove": task.moved,
                "StartedTimestamp": task.started_ms,
            }
            for task in tasks
        ]
        return ActionResult({"Results": results})

    for function in (start_message_move_task, list_message_move_tasks):
        function._event_fanout_compat = True  # type: ignore[attr-defined]
        setattr(SQSResponse, function.__name__, function)


#: The fixes of this module, in the order they are checked and applied.
FIXES: tuple[CompatFix, ...] = (
    CompatFix(
        "sqs_message_move_task",
        "StartMessageMoveTask / ListMessageMoveTasks (DLQ redrive) are not implemented",
        _check_sqs_message_move_task,
        _apply_sqs_message_move_task,
    ),
)
