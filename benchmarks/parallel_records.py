"""A batch's records on 1, 2, 5 and 10 threads: wall time per batch and records per second.

A batch of ``--records`` new events (distinct idempotency keys) whose handler waits ``--io-ms``
on I/O, with every idempotency-table call taking ``--table-ms``::

    python benchmarks/parallel_records.py --repeat 5              # a remote table
    python benchmarks/parallel_records.py --table emulator        # the local emulator's

``--table remote`` (the default) models DynamoDB as it is to a Lambda: a service elsewhere,
costing the function a round trip and no CPU. A botocore ``before-send`` hook waits
``--table-ms`` and answers the call as DynamoDB answers a successful conditional put or update
of a new key (``{}``); the runtime and Powertools do all their own work (requests signed and
serialized, responses parsed). ``--table emulator`` sends the calls to moto's server instead,
whose own CPU (a few ms per call, on this machine's two cores) then adds to the batch.

Each record costs two table calls (claim the key, complete it) plus the handler's wait, so one
record takes about ``io + 2 x table`` ms and a sequential batch ``records`` times that. Prints
the median batch time for each ``max_workers``, the records per second, and the ratio of the
batch to its slowest record (the target: at most 1.5 with 10 workers).
"""

from __future__ import annotations

import os

# Before the runtime's logger exists: its lines are not what is measured.
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

import argparse
import statistics
import time
import uuid
import zlib
from typing import Any

import boto3
import botocore.session
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from event_fanout.local.server import LocalAws
from event_fanout.runtime import EventBridgeEvent, constants, fanout_consumer
from event_fanout.runtime.testing import (
    FakeLambdaContext,
    make_eventbridge_event,
    reset_runtime_caches,
    sqs_event,
    sqs_record,
)


def _environment(aws: LocalAws, table: str) -> None:
    os.environ.update(
        {
            **aws.environment,
            constants.ENV_IDEMPOTENCY_TABLE_NAME: table,
            constants.ENV_CONSUMER_NAME: "Bench",
        }
    )


def _add_latency(table_ms: float, *, remote: bool) -> None:
    """Every DynamoDB call of every client built from now on waits ``table_ms``.

    ``remote``: and is answered as a new key's put or update is, without being sent.
    """

    def wait(request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        time.sleep(table_ms / 1000)
        if not remote:
            return None
        return AWSResponse(request.url, 200, {"x-amz-crc32": str(zlib.crc32(b"{}"))}, _Body())

    # Every client: Powertools' persistence layer builds its own boto3 session.
    create_client = botocore.session.Session.create_client

    def create_hooked_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        client.meta.events.register("before-send.dynamodb", wait)
        return client

    botocore.session.Session.create_client = create_hooked_client  # type: ignore[method-assign]


class _Body:
    """The raw body of an empty DynamoDB answer (``{}``)."""

    def stream(self, **_: Any) -> list[bytes]:
        return [b"{}"]


def _one_batch(workers: int, records: int, io_ms: float, slowest: list[float]) -> float:
    @fanout_consumer(name="Bench", max_workers=workers)
    def handle(event: EventBridgeEvent[dict[str, Any]]) -> None:
        time.sleep(io_ms / 1000)

    batch = [
        sqs_record(make_eventbridge_event({"campaignId": str(uuid.uuid4())}))
        for _ in range(records)
    ]
    started = time.perf_counter()
    response = handle(sqs_event(*batch), FakeLambdaContext())
    elapsed = time.perf_counter() - started
    if response["batchItemFailures"]:
        raise SystemExit(f"{len(response['batchItemFailures'])} records failed")
    slowest.append(elapsed)
    return elapsed


def _slowest_record(io_ms: float) -> float:
    """One record alone (a batch of 1): the floor a parallel batch is measured against."""
    times: list[float] = []
    for _ in range(5):
        _one_batch(1, 1, io_ms, times)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10)
    parser.add_argument("--io-ms", type=float, default=50.0)
    parser.add_argument("--table-ms", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--table", choices=["remote", "emulator"], default="remote")
    args = parser.parse_args()
    with LocalAws() as aws:
        table = f"bench-{uuid.uuid4().hex[:8]}"
        _environment(aws, table)
        boto3.client("dynamodb").create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        reset_runtime_caches()
        _add_latency(args.table_ms, remote=args.table == "remote")
        _one_batch(1, 2, args.io_ms, [])  # warm: clients built, modules imported
        one = _slowest_record(args.io_ms)
        print(
            f"batch of {args.records}, handler I/O {args.io_ms:.0f} ms, {args.table} table "
            f"{args.table_ms:.0f} ms per call; one record alone: {one * 1000:.1f} ms"
        )
        print(f"{'max_workers':>11} | {'batch (ms)':>10} | {'records/s':>9} | {'x one record':>12}")
        for workers in args.workers:
            times: list[float] = []
            for _ in range(args.repeat):
                _one_batch(workers, args.records, args.io_ms, times)
            batch = statistics.median(times)
            print(
                f"{workers:>11} | {batch * 1000:>10.1f} | {args.records / batch:>9.0f} | "
                f"{batch / one:>12.2f}"
            )


if __name__ == "__main__":
    main()
