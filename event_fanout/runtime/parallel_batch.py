"""The records of one SQS batch on several threads, with the partial-batch semantics kept.

A batch handled record after record takes the sum of its records' times: with two DynamoDB
round trips per new record plus the handler's own I/O, ten records take ten times one. Here
they run on up to ``max_workers`` threads, in *lanes*:

- a lane runs its records one after another, in their batch order; lanes run side by side;
- on a FIFO queue a lane is a message group: its order is kept, and after a record fails the
  rest of its group is reported failed without running (what Powertools'
  ``SqsFifoPartialProcessor(skip_group_on_error=True)`` does); other groups carry on;
- on a standard queue a lane is an idempotency key: two records of one key in a batch run in
  turn, so the second finds the first's completed record and is skipped as a duplicate, instead
  of finding it in progress and failing for a retry.

The response lists exactly the failed records (in batch order), as the sequential processors'
does. Powertools' batch processors are not used here: they call the record handler in a loop,
and their async variant needs an ``async`` handler. What the record handler touches must be
thread-safe; :class:`~event_fanout.runtime.consumer.FanoutHandler` gives each record its own
counters and log keys (Powertools' thread-local keys), and its idempotency runner's DynamoDB
client is built before the threads start (boto3 clients are thread-safe; building them is not).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

__all__ = ["process_in_lanes"]


def process_in_lanes(
    records: Sequence[Mapping[str, Any]],
    handle: Callable[[SQSRecord], object],
    *,
    lane_of: Callable[[SQSRecord], Hashable],
    fifo: bool,
    max_workers: int,
) -> PartialItemFailureResponse:
    """Run ``handle`` on every record, lane by lane on up to ``max_workers`` threads.

    ``handle`` raises for a failed record; what it returns is ignored. ``lane_of`` names a
    record's lane (a message group, an idempotency key); on a FIFO queue a failure stops its
    lane. Returns ``{"batchItemFailures": [...]}`` in batch order.
    """
    wrapped = [SQSRecord(dict(record)) for record in records]
    lanes: dict[Hashable, list[int]] = {}
    for index, record in enumerate(wrapped):
        lanes.setdefault(lane_of(record), []).append(index)
    failed = [False] * len(wrapped)

    def run_lane(indexes: list[int]) -> None:
        for position, index in enumerate(indexes):
            try:
                handle(wrapped[index])
            except Exception:
                failed[index] = True
                if fifo:
                    for later in indexes[position + 1 :]:
                        failed[later] = True
                    return

    workers = max(1, min(max_workers, len(lanes)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="record") as pool:
        for future in [pool.submit(run_lane, indexes) for indexes in lanes.values()]:
            future.result()
    return {
        "batchItemFailures": [
            {"itemIdentifier": record.message_id}
            for record, is_failed in zip(wrapped, failed, strict=True)
            if is_failed
        ]
    }
