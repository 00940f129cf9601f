"""Per-record cost of the consumer runtime against a bare handler, and its DynamoDB calls.

Run: ``python benchmarks/runtime_overhead.py [--records 1000] [--batch-size 10]``

DynamoDB is moto in-process, so the timings measure the runtime's own CPU (parsing, hashing,
logging, metrics, botocore request building and moto's in-process handling), not network round
trips: in AWS add one DynamoDB round trip (a few ms) per call counted below.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ.setdefault(_name, "benchmark")

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402
from pydantic import BaseModel, ConfigDict  # noqa: E402
from pydantic.alias_generators import to_camel  # noqa: E402

from event_fanout.runtime import ConsumerSettings, EventBridgeEvent, fanout_consumer  # noqa: E402
from event_fanout.runtime import constants as c  # noqa: E402
from event_fanout.runtime.idempotency import idempotent_runner  # noqa: E402
from event_fanout.runtime.testing import (  # noqa: E402
    FakeLambdaContext,
    make_eventbridge_event,
    reset_runtime_caches,
    sqs_event,
)

TABLE = "benchmark-idempotency"


class BudgetChanged(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    company_id: int
    profile_id: int
    campaign_id: int
    old_budget: float
    new_budget: float
    version: int


def make_events(count: int) -> list[dict[str, Any]]:
    return [
        make_eventbridge_event(
            {
                "companyId": 5000,
                "profileId": 50000100,
                "campaignId": 1000 + i,
                "oldBudget": 50.0,
                "newBudget": 75.0,
                "version": 1,
            }
        )
        for i in range(count)
    ]


def business_logic(campaign_id: int) -> None:
    """The same (trivial) effect in both handlers, so only the runtime's cost differs."""
    _ = campaign_id * 2


def bare_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """What a consumer without the runtime would minimally do: parse, validate, handle."""
    for record in event["Records"]:
        parsed = EventBridgeEvent[BudgetChanged].model_validate_json(record["body"])
        business_logic(parsed.detail.campaign_id)
    return {"batchItemFailures": []}


@fanout_consumer(name="Benchmark")
def runtime_handler(event: EventBridgeEvent[BudgetChanged]) -> None:
    business_logic(event.detail.campaign_id)


@fanout_consumer(name="Benchmark", use_local_cache=True)
def cached_runtime_handler(event: EventBridgeEvent[BudgetChanged]) -> None:
    business_logic(event.detail.campaign_id)


def batches(events: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    return [sqs_event(*events[i : i + size]) for i in range(0, len(events), size)]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep log and EMF lines off the terminal (they are still formatted, as in Lambda)."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def per_record_us(
    handler: Callable[[dict[str, Any], Any], Any], sqs_batches: list[dict[str, Any]]
) -> float:
    records = sum(len(batch["Records"]) for batch in sqs_batches)
    timings = []
    with quiet():
        for batch in sqs_batches:
            started = time.perf_counter()
            response = handler(batch, FakeLambdaContext())
            timings.append(time.perf_counter() - started)
            assert not response["batchItemFailures"], response
    return sum(timings) / records * 1e6


class CallCounter:
    """Count and time DynamoDB API calls via botocore event hooks on the runtime's client."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seconds = 0.0
        self._started = 0.0

    def start(self, **_: Any) -> None:
        self._started = time.perf_counter()

    def count(self, event_name: str, **_: Any) -> None:
        self.calls[event_name.rsplit(".", 1)[-1]] += 1

    def after(self, **_: Any) -> None:
        self.seconds += time.perf_counter() - self._started

    def attach(self, use_local_cache: bool = False) -> CallCounter:
        settings = ConsumerSettings.from_env("Benchmark")
        layer = idempotent_runner(settings, use_local_cache=use_local_cache).persistence_layer
        # provide-client-params is botocore's first event of a call: the timed window covers
        # parameter validation, serialization, signing and moto's in-process service.
        layer.client.meta.events.register("provide-client-params.dynamodb", self.start)
        layer.client.meta.events.register("before-call.dynamodb", self.count)
        layer.client.meta.events.register("after-call.dynamodb", self.after)
        return self

    def timed(
        self, handler: Callable[[dict[str, Any], Any], Any], sqs_batches: list[dict[str, Any]]
    ) -> tuple[float, float]:
        """Per-record microseconds: total, and excluding the time inside DynamoDB calls."""
        records = sum(len(batch["Records"]) for batch in sqs_batches)
        self.seconds = 0.0
        total = per_record_us(handler, sqs_batches)
        return total, total - self.seconds / records * 1e6

    def measure(
        self, handler: Callable[[dict[str, Any], Any], Any], events: list[dict[str, Any]]
    ) -> str:
        self.calls.clear()
        with quiet():
            for event in events:
                handler(sqs_event(event), FakeLambdaContext())
        total = sum(self.calls.values())
        detail = ", ".join(f"{op} {n / len(events):g}" for op, n in sorted(self.calls.items()))
        return f"{total / len(events):g}" + (f" ({detail})" if detail else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=10)
    args = parser.parse_args()

    os.environ.update(
        {
            c.ENV_IDEMPOTENCY_TABLE_NAME: TABLE,
            c.ENV_CONSUMER_NAME: "Benchmark",
            c.ENV_POWERTOOLS_SERVICE_NAME: "benchmark",
        }
    )
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            AttributeDefinitions=[
                {"AttributeName": c.IDEMPOTENCY_KEY_ATTRIBUTE, "AttributeType": "S"}
            ],
            KeySchema=[{"AttributeName": c.IDEMPOTENCY_KEY_ATTRIBUTE, "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        reset_runtime_caches()
        # Warm-up: imports, pydantic schema build, boto3 client creation (cold-start costs).
        per_record_us(bare_handler, batches(make_events(20), args.batch_size))
        per_record_us(runtime_handler, batches(make_events(20), args.batch_size))

        events = make_events(args.records)
        sqs_batches = batches(events, args.batch_size)
        bare = statistics.median(per_record_us(bare_handler, sqs_batches) for _ in range(3))
        counter = CallCounter().attach()
        new, new_cpu = counter.timed(runtime_handler, sqs_batches)
        duplicate, duplicate_cpu = counter.timed(runtime_handler, sqs_batches)
        os.environ["POWERTOOLS_IDEMPOTENCY_DISABLED"] = "1"
        no_idempotency = per_record_us(runtime_handler, sqs_batches)
        del os.environ["POWERTOOLS_IDEMPOTENCY_DISABLED"]

        calls_new = counter.measure(runtime_handler, make_events(50))
        probe = make_events(50)
        with quiet():
            per_record_us(runtime_handler, batches(probe, args.batch_size))
        calls_duplicate = counter.measure(runtime_handler, probe)

        cached = CallCounter().attach(use_local_cache=True)
        warm = make_events(50)
        with quiet():
            per_record_us(cached_runtime_handler, batches(warm, args.batch_size))
        calls_cached_duplicate = cached.measure(cached_runtime_handler, warm)

    print(f"records: {args.records} in batches of {args.batch_size} (DynamoDB: moto in-process)")
    print()
    print(f"{'handler':<54}{'us/record':>10}{'overhead':>11}")
    rows = [
        ("bare (parse + validate + handle)", bare),
        ("runtime, new events", new),
        ("  excluding time inside DynamoDB calls", new_cpu),
        ("runtime, duplicate events", duplicate),
        ("  excluding time inside DynamoDB calls", duplicate_cpu),
        ("runtime, idempotency disabled (logs, metrics, batch)", no_idempotency),
    ]
    for label, value in rows:
        overhead = "" if value is bare else f"{value - bare:+.0f} us"
        print(f"{label:<54}{value:>10.0f}{overhead:>11}")
    print("(time inside DynamoDB calls = botocore validation, serialization, signing + moto;")
    print(" in AWS it is instead one network round trip per call, typically a few ms)")
    print()
    print("DynamoDB calls per record:")
    print(f"  new event:                          {calls_new}")
    print(f"  duplicate event:                    {calls_duplicate}")
    print(f"  duplicate, warm local cache:        {calls_cached_duplicate}")


if __name__ == "__main__":
    main()
