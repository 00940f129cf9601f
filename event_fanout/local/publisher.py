"""A realistic stream of ``CampaignBudgetChanged`` events, and EventBridge's duplicate deliveries.

Events go through ``PutEvents`` so the deployed rules do the routing. Duplicates come in the
shape they take in production: EventBridge delivers at least once, so the *same* event (same
``id``) can reach a queue as a second SQS message. ``PutEvents`` always assigns a new id, so
:func:`duplicate_deliveries` copies messages already routed to a queue instead.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from event_fanout.stacks.reference import BUDGET_CHANGED, EVENT_SOURCE, UNMATCHED_SOURCE


@dataclass(frozen=True)
class StreamEvent:
    """One event to publish and what it is for."""

    detail: dict[str, Any]
    kind: str = "normal"  # "normal" | "poison" | "unmatched"
    source: str = EVENT_SOURCE
    detail_type: str = BUDGET_CHANGED

    def entry(self, bus_name: str) -> dict[str, Any]:
        """The ``PutEvents`` entry."""
        return {
            "EventBusName": bus_name,
            "Source": self.source,
            "DetailType": self.detail_type,
            "Detail": json.dumps(self.detail),
        }


@dataclass
class Published:
    """What was published: event ids by kind, and every event's detail by id."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    details: dict[str, StreamEvent] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Events accepted by the bus."""
        return len(self.details)


def budget_stream(
    count: int, *, poison: int = 1, unmatched: int = 1, seed: int = 7, campaigns: int = 12
) -> list[StreamEvent]:
    """``count`` budget changes over a few campaigns, plus poison and unmatched events.

    Budgets straddle the notification threshold (1000), versions increase per campaign, and
    a poison event carries a campaign id the consumers' models reject (a new id format the
    handlers do not know yet), so it fails on every receive.
    """
    rng = random.Random(seed)
    budgets = {c: rng.choice([250, 500, 900, 1200]) for c in range(1, campaigns + 1)}
    versions = dict.fromkeys(budgets, 0)
    stream = []
    for _ in range(count):
        campaign = rng.randint(1, campaigns)
        versions[campaign] += 1
        old = budgets[campaign]
        new = max(50, old + rng.choice([-400, -150, 100, 300, 600, 900]))
        budgets[campaign] = new
        stream.append(
            StreamEvent(
                {
                    "companyId": 10,
                    "profileId": 100 + campaign % 3,
                    "campaignId": campaign,
                    "oldBudget": old,
                    "newBudget": new,
                    "version": versions[campaign],
                }
            )
        )
    for index in range(poison):
        stream.insert(
            rng.randint(0, len(stream)),
            StreamEvent(
                {
                    "companyId": 10,
                    "profileId": 100,
                    "campaignId": f"cmp-{index:04x}-new-format",
                    "oldBudget": 900,
                    "newBudget": 1500,
                    "version": 1,
                },
                kind="poison",
            ),
        )
    for _ in range(unmatched):
        stream.insert(
            rng.randint(0, len(stream)),
            StreamEvent(
                {"invoiceId": rng.randint(1000, 9999), "amount": 42},
                kind="unmatched",
                source=UNMATCHED_SOURCE,
                detail_type="InvoiceIssued",
            ),
        )
    return stream


def publish(events_client: Any, bus_name: str, stream: Iterable[StreamEvent]) -> Published:
    """``PutEvents`` in batches of 10; raise if the bus rejects any entry."""
    published = Published()
    batch: list[StreamEvent] = []

    def flush() -> None:
        if not batch:
            return
        response = events_client.put_events(Entries=[e.entry(bus_name) for e in batch])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents rejected entries: {response['Entries']}")
        for event, result in zip(batch, response["Entries"], strict=True):
            published.ids.setdefault(event.kind, []).append(result["EventId"])
            published.details[result["EventId"]] = event
        batch.clear()

    for event in stream:
        batch.append(event)
        if len(batch) == 10:
            flush()
    flush()
    return published


def duplicate_deliveries(sqs: Any, queue_url: str, event_ids: set[str]) -> int:
    """Deliver each routed event whose id is in ``event_ids`` a second time; return copies.

    Reads every message of the queue once (hiding them briefly), sends a copy of the chosen
    ones, then makes all of them visible again. Run it before the consumers start.
    """
    seen: list[dict[str, Any]] = []
    copied: set[str] = set()
    while True:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=0
        )
        messages = response.get("Messages", [])
        if not messages:
            break
        seen.extend(messages)
        for message in messages:
            event_id = json.loads(message["Body"]).get("id")
            if event_id in event_ids and event_id not in copied:
                sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"])
                copied.add(event_id)
    for start in range(0, len(seen), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(seen[start : start + 10])
            ],
        )
    return len(copied)
