"""Producer throughput on the emulator: ``EventPublisher`` against one ``PutEvents`` per event.

Starts a local emulator, creates a bus with a rule routing to an SQS queue, then publishes
``--events`` budget-change events (~150-byte details) through each arm, ``--repeat`` times in
alternation, and checks that the queue received every event of each run::

    python benchmarks/producer_throughput.py --events 2000

Prints the median events/s of each arm and their ratio. The emulator serves one request at a
time per connection and both arms use one client in one thread, so the ratio is mostly requests
saved (10 events per request); against AWS the network round trip widens it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from event_fanout.local.server import LocalAws
from event_fanout.local.session import session_for
from event_fanout.producer import EventPublisher

BUS = "producer-bench"
SOURCE = "ads.campaigns"
DETAIL_TYPE = "CampaignBudgetChanged"


def stream(count: int) -> list[dict[str, Any]]:
    return [
        {
            "EventBusName": BUS,
            "Source": SOURCE,
            "DetailType": DETAIL_TYPE,
            "Detail": json.dumps(
                {
                    "companyId": 10,
                    "profileId": 100 + i % 3,
                    "campaignId": i % 12,
                    "oldBudget": 900,
                    "newBudget": 1000 + i,
                    "version": i,
                    "correlationId": f"bench-{i}",
                }
            ),
        }
        for i in range(count)
    ]


def naive(events_client: Any, entries: list[dict[str, Any]]) -> None:
    """What a producer writes first: one request per event, a failure raised."""
    for entry in entries:
        response = events_client.put_events(Entries=[entry])
        if response["FailedEntryCount"]:
            raise RuntimeError(f"PutEvents rejected the event: {response['Entries']}")


def batched(publisher: EventPublisher, entries: list[dict[str, Any]]) -> None:
    publisher.publish(entries).raise_for_failures()


def queue_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def fresh_queue(events_client: Any, sqs: Any, name: str) -> str:
    """A new queue, made the rule's only target; its URL."""
    queue_url: str = sqs.create_queue(QueueName=f"{BUS}-{name}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events_client.put_targets(
        Rule=BUS, EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    return queue_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="events per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per arm (median reported)")
    args = parser.parse_args()
    entries = stream(args.events)
    work = Path(tempfile.mkdtemp(prefix="producer-bench-"))
    with LocalAws(log_path=work / "moto.log") as aws:
        session = session_for(aws.environment)
        events_client, sqs = session.client("events"), session.client("sqs")
        events_client.create_event_bus(Name=BUS)
        events_client.put_rule(
            Name=BUS, EventBusName=BUS, EventPattern=json.dumps({"source": [SOURCE]})
        )
        publisher = EventPublisher(events_client, event_bus_name=BUS)
        arms: dict[str, Callable[[], None]] = {
            "naive (1 PutEvents per event)": lambda: naive(events_client, entries),
            "EventPublisher (batched)": lambda: batched(publisher, entries),
        }
        fresh_queue(events_client, sqs, "warm-up")
        naive(events_client, entries[:20])  # warm the connection and the emulator's routes
        rates: dict[str, list[float]] = {name: [] for name in arms}
        for repeat in range(args.repeat):
            for number, (name, run) in enumerate(arms.items()):
                # A fresh queue per run: moto's SQS send slows down as a queue fills up, which
                # would favour whichever arm runs first.
                queue_url = fresh_queue(events_client, sqs, f"run-{repeat}-{number}")
                started = time.perf_counter()
                run()
                elapsed = time.perf_counter() - started
                delivered = queue_depth(sqs, queue_url)
                if delivered != args.events:
                    raise SystemExit(f"{name}: {delivered} of {args.events} events in the queue")
                sqs.delete_queue(QueueUrl=queue_url)
                rates[name].append(args.events / elapsed)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, value in medians.items():
        runs = ", ".join(f"{rate:.0f}" for rate in rates[name])
        print(f"{name:32} {value:8.0f} events/s (runs: {runs})")
    naive_rate, batched_rate = medians.values()
    print(
        f"ratio: {batched_rate / naive_rate:.1f}x ({args.events} events, median of {args.repeat})"
    )


if __name__ == "__main__":
    main()
