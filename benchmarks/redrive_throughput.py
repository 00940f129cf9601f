"""Redrive throughput on the emulator: the receive-send-delete copy, and SQS's move task.

Starts a local emulator, creates a source queue whose redrive policy points at a DLQ, fills the
DLQ with ``--messages`` dead letters (~300-byte events), and moves them back with
:func:`event_fanout.operations.redrive.redrive`, each method ``--repeat`` times, checking that
the source queue got every message::

    python benchmarks/redrive_throughput.py --messages 1000

Prints the median messages/s of each method. The copy makes three requests per ten messages
(receive, send batch, delete batch); the move task is the emulator's own loop (the compatibility
module's ``StartMessageMoveTask``), so it measures the emulator more than the tool.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from event_fanout.local.server import LocalAws
from event_fanout.local.session import session_for
from event_fanout.operations.discovery import Queue
from event_fanout.operations.redrive import Method, queue_depth, redrive


def _queues(sqs: Any, run: str) -> tuple[Queue, Queue]:
    dlq_url = sqs.create_queue(QueueName=f"dlq-{run}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    source_url = sqs.create_queue(
        QueueName=f"source-{run}",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})
        },
    )["QueueUrl"]
    source_arn = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return Queue(dlq_url, dlq_arn), Queue(source_url, source_arn)


def _fill(sqs: Any, dlq: Queue, count: int) -> None:
    for start in range(0, count, 10):
        sqs.send_message_batch(
            QueueUrl=dlq.url,
            Entries=[
                {
                    "Id": str(i),
                    "MessageBody": json.dumps(
                        {
                            "id": str(uuid.uuid4()),
                            "source": "ads.campaigns",
                            "detail-type": "CampaignBudgetChanged",
                            "detail": {"campaignId": start + i, "newBudget": 1500},
                        }
                    ),
                }
                for i in range(min(10, count - start))
            ],
        )


def one_run(sqs: Any, method: Method, count: int) -> float:
    """Messages per second of one redrive of ``count`` dead letters."""
    dlq, source = _queues(sqs, uuid.uuid4().hex[:8])
    _fill(sqs, dlq, count)
    started = time.perf_counter()
    result = redrive(sqs, dlq, source, method=method, poll_seconds=0.05)
    seconds = time.perf_counter() - started
    moved = queue_depth(sqs, source)["visible"]
    if result.moved != count or moved != count:
        raise SystemExit(f"{method}: moved {result.moved}, the source queue has {moved} of {count}")
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with LocalAws(log_path=Path(tempfile.mkdtemp()) / "moto.log") as aws:
        sqs = session_for(aws.environment).client("sqs")
        figures: dict[str, list[float]] = {"copy": [], "move-task": []}
        for _ in range(args.repeat):
            for method in ("copy", "move-task"):
                figures[method].append(one_run(sqs, method, args.messages))  # type: ignore[arg-type]
    for method, rates in figures.items():
        runs = ", ".join(f"{rate:.0f}" for rate in rates)
        print(f"{method}: {statistics.median(rates):.0f} messages/s (runs: {runs})")


if __name__ == "__main__":
    main()
