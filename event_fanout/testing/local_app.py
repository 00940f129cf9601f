"""Your deployed fan-out on the local emulator, as an integration test sees it.

:class:`FanoutApp` is what the ``fanout_app`` pytest fixture hands a test (``pip install
cdk-event-fanout[local]``; see :mod:`event_fanout.testing.pytest_plugin`): publish events to
the app's buses, run its consumers until their queues drain, and read what each consumer did::

    def test_an_order_is_billed_once(fanout_app):
        fanout_app.publish(source="shop.orders", detail_type="OrderPlaced", detail={...})
        fanout_app.drain()
        assert fanout_app.consumer("Billing").processed == 1
        assert fanout_app.consumer("Audit").routed == 1

The app is deployed once per test session; between tests :meth:`FanoutApp.reset` purges every
consumer queue, DLQ and idempotency table and forgets the counts, so tests do not see each
other's events and need no redeploy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from event_fanout.local.report import consumer_name, dead_letter_queue_url, queue_depth
from event_fanout.local.runner import DeployedMapping, EventSourceRunner, MappingStats
from event_fanout.local.session import AwsSession, session_for


@dataclass(frozen=True)
class ConsumerView:
    """What one consumer did since the last reset (its runtime's own metrics, its queues)."""

    name: str
    #: Distinct messages its queue delivered (each routed event is one message).
    routed: int
    #: Records its handler completed.
    processed: int
    #: Records skipped as already handled (idempotency).
    duplicates: int
    #: Failed attempts (a record retried three times counts three).
    failed: int
    #: Messages now in its dead-letter queue.
    in_dlq: int
    dlq_messages: tuple[dict[str, Any], ...]


class FanoutApp:
    """A deployed CDK app on the emulator: publish, drain, and read each consumer's figures."""

    def __init__(
        self,
        aws_env: Mapping[str, str],
        mappings: list[DeployedMapping],
        *,
        log_dir: Path,
        retry_delay: int = 0,
    ) -> None:
        self.env = dict(aws_env)
        #: Clients on the emulator (``fanout_app.session.client("dynamodb")``): read your own
        #: effect tables with it.
        self.session: AwsSession = session_for(self.env)
        self.mappings = mappings
        self._log_dir = log_dir
        self._retry_delay = retry_delay
        self._runner = self._new_runner()
        self._default_bus: str | None = None

    def _new_runner(self) -> EventSourceRunner:
        # A failed record is retried at once and an empty receive does not wait: a test should
        # not sit through Lambda's visibility timeout (a queue with nothing in it is not polled).
        return EventSourceRunner(
            self.session,
            self.mappings,
            retry_delay=self._retry_delay,
            log_dir=self._log_dir,
            receive_wait_seconds=0,
        )

    @property
    def consumers(self) -> list[str]:
        """The names of the app's consumers (Python functions with an SQS mapping)."""
        return [consumer_name(m) for m in self.mappings]

    def publish(
        self,
        *,
        source: str,
        detail_type: str,
        detail: Mapping[str, Any],
        bus: str | None = None,
    ) -> str:
        """Put one event on ``bus`` (default: the app's only custom bus); return its id."""
        events = self.session.client("events")
        entry = {
            "EventBusName": bus or self._only_bus(),
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
        }
        result = events.put_events(Entries=[entry])
        if result["FailedEntryCount"]:
            raise RuntimeError(f"the emulator refused the event: {result['Entries'][0]}")
        return str(result["Entries"][0]["EventId"])

    def _only_bus(self) -> str:
        if self._default_bus is not None:
            return self._default_bus
        names = [
            bus["Name"]
            for bus in self.session.client("events").list_event_buses()["EventBuses"]
            if bus["Name"] != "default"
        ]
        if len(names) != 1:
            raise ValueError(f"the app has {len(names)} custom buses {names}: pass bus=")
        self._default_bus = str(names[0])
        return self._default_bus

    def drain(self, *, timeout: float = 120) -> None:
        """Run every consumer until its queue is empty (poison records end in the DLQs)."""
        self._runner.run_until_drained(timeout=timeout)

    def consumer(self, name: str) -> ConsumerView:
        """One consumer's figures, by its id (``add_consumer("Billing", ...)``)."""
        matching = [m for m in self.mappings if consumer_name(m) == name]
        if len(matching) != 1:
            known = ", ".join(self.consumers)
            raise KeyError(f"{len(matching)} consumers named {name!r}; the app has: {known}")
        (mapping,) = matching
        stats: MappingStats = self._runner.stats[mapping.uuid]
        dlq_url = dead_letter_queue_url(self.session, mapping)
        return ConsumerView(
            name=name,
            routed=stats.distinct_messages,
            processed=int(stats.metrics.get("Processed", 0)),
            duplicates=int(stats.metrics.get("Duplicate", 0)),
            failed=int(stats.metrics.get("Failed", 0)) + stats.batch_errors,
            in_dlq=queue_depth(self.session.client("sqs"), dlq_url) if dlq_url else 0,
            dlq_messages=tuple(self._peek(dlq_url)) if dlq_url else (),
        )

    def _peek(self, queue_url: str) -> list[dict[str, Any]]:
        """The queue's messages, made visible again at once (a look, not a consume)."""
        sqs = self.session.client("sqs")
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    def reset(self) -> None:
        """Empty every consumer queue, DLQ and idempotency table; forget the counts.

        Messages in flight (received, not yet deleted) are not there to delete: call it between
        drains, as the ``fanout_app`` fixture does.
        """
        sqs = self.session.client("sqs")
        dynamodb = self.session.client("dynamodb")
        for mapping in self.mappings:
            empty_queue(sqs, mapping.queue_url)
            dlq_url = dead_letter_queue_url(self.session, mapping)
            if dlq_url:
                empty_queue(sqs, dlq_url)
            table = mapping.function.environment.get("IDEMPOTENCY_TABLE_NAME")
            if table:
                _empty_table(dynamodb, table)
        self._runner = self._new_runner()


def empty_queue(sqs: Any, queue_url: str) -> None:
    """Receive and delete until empty: ``PurgeQueue`` may run once a minute per queue."""
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )


def _empty_table(dynamodb: Any, table: str) -> None:
    keys = [
        item["id"] for item in dynamodb.scan(TableName=table, ProjectionExpression="id")["Items"]
    ]
    for key in keys:
        dynamodb.delete_item(TableName=table, Key={"id": key})
