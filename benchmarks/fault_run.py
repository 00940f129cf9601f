"""Fault run: 1,000 events through the locally deployed reference stack, nothing lost.

10% of the events are delivered twice (same EventBridge event id), 2% are poison (rejected on
every receive) and 5% of deliveries fail transiently once. Prints one figure line for the
ReportingSync consumer (it receives every CampaignBudgetChanged):

    published=1000 unique=1000 effects=980 duplicates_skipped=100 in_dlq=20 lost=0

``lost`` = unique - effects - in_dlq, and must be 0. Run: ``python benchmarks/fault_run.py``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from event_fanout.local.demo import REFERENCE_STACK, deploy_reference_stack, drain
from event_fanout.local.deploy import session_for
from event_fanout.local.publisher import (
    REFERENCE_BUS_DEFAULT,
    budget_stream,
    duplicate_deliveries,
    publish,
)
from event_fanout.local.report import consumer_name, dead_letter_queue_url, queue_depth
from event_fanout.local.runner import discover_mappings
from event_fanout.local.server import LocalAws


@dataclass(frozen=True)
class Figures:
    published: int
    unique: int
    effects: int
    duplicates_skipped: int
    in_dlq: int
    transient_failures: int

    @property
    def lost(self) -> int:
        return self.unique - self.effects - self.in_dlq

    def line(self) -> str:
        return (
            f"published={self.published} unique={self.unique} effects={self.effects} "
            f"duplicates_skipped={self.duplicates_skipped} in_dlq={self.in_dlq} "
            f"transient_failures={self.transient_failures} lost={self.lost}"
        )


def fault_run(
    aws: LocalAws,
    *,
    events: int = 1000,
    duplicate_rate: float = 0.10,
    poison_rate: float = 0.02,
    transient_rate: float = 0.05,
    seed: int = 11,
    deploy: bool = True,
) -> Figures:
    """Deploy (optionally), publish, inject faults, drain; return ReportingSync's figures."""
    if deploy:
        deploy_reference_stack(aws.environment)
    session = session_for(aws.environment)
    work = Path(tempfile.mkdtemp(prefix="event-fanout-fault-run-"))
    mappings = discover_mappings(session, REFERENCE_STACK, work)
    reporting = next(m for m in mappings if consumer_name(m) == "ReportingSync")
    events_client, sqs = session.client("events"), session.client("sqs")
    poison = round(events * poison_rate)
    good = budget_stream(events - poison, poison=0, unmatched=0, seed=seed)
    published = publish(events_client, REFERENCE_BUS_DEFAULT, good)
    rng = random.Random(seed)
    chosen = set(rng.sample(published.ids["normal"], round(events * duplicate_rate)))
    copies = duplicate_deliveries(sqs, reporting.queue_url, chosen)
    late = publish(
        events_client,
        REFERENCE_BUS_DEFAULT,
        budget_stream(0, poison=poison, unmatched=0, seed=seed),
    )
    failed_once: set[str] = set()

    def transient(record: dict[str, Any]) -> bool:
        if record["messageId"] in failed_once or rng.random() >= transient_rate:
            return False
        failed_once.add(record["messageId"])
        return True

    runner = drain(
        session,
        [reporting],
        retry_delay=0,
        transient_failure=transient,
        batching_window=0.2,  # one poller: do not idle on the last, half-full batches
        receive_wait_seconds=0,
    )
    stats = runner.stats[reporting.uuid]
    dlq = dead_letter_queue_url(session, reporting)
    return Figures(
        published=published.total + late.total,
        unique=stats.distinct_messages - copies,
        effects=int(stats.metrics.get("Processed", 0)),
        duplicates_skipped=int(stats.metrics.get("Duplicate", 0)),
        in_dlq=queue_depth(sqs, dlq) if dlq else 0,
        transient_failures=runner.injected_failures,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    with LocalAws() as aws:
        figures = fault_run(aws, events=args.events)
    print(figures.line())
    return 0 if figures.lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
