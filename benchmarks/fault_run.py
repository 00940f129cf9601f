"""Fault run: orders through a locally deployed fan-out while its consumers are killed.

Deploys ``benchmarks/fault_app.py`` (a standard and a FIFO consumer of every order, idempotent
on the business key ``detail.orderId``) into the local emulator and runs each consumer in a
worker process of its own (``benchmarks/fault_consumers.py``: the local runner on that
consumer's mapping). While the workers consume, it publishes ``--events`` orders (default
10,000) with the faults below, ``SIGKILL``s a worker ``--kills`` times (default 5) at random
moments and restarts it each time, until the queues drain. Then it reconciles the effects
table and the dead-letter queues against what was published, and prints one line::

    published=1100 unique=1000 consumers=2 effects=1960 duplicates_skipped=214 in_dlq=40
    kills=3 lost=0 double_effects=0 crash_reruns=2

Faults:

- crash: every other kill lands exactly after an effect and before that record's idempotency
  record completes and its message is deleted (the handler hangs there on request, see
  ``fault_handler/orders.py``); the others land wherever the worker happens to be;
- duplicate publishes (10 %): the producer publishes an order again a little later, as a new
  ``PutEvents`` entry (a new EventBridge id, the same ``orderId``);
- poison (2 %): orders the consumer rejects on every receive;
- transient failures (5 % of deliveries): a failure before the effect that a retry clears.

Figures, summed over the two consumers: ``published`` = ``PutEvents`` entries, ``unique`` =
distinct orders, ``effects`` = effects in the table (each order counts its own), ``in_dlq`` =
messages in the consumers' DLQs, ``lost`` = healthy orders without an effect or with a message
in a DLQ, ``double_effects`` = orders whose effect was applied more than once, ``crash_reruns``
= handler runs that found their effect already applied: a kill between an effect and its
idempotency record's completion (at most one per kill). The run fails (exit 1) when
``lost`` or ``double_effects`` is not 0.

How a kill is handled: a killed invocation's messages would stay invisible for the queue's
visibility timeout (6 x the 3 s function timeout). The worker journals each batch's receipt
handles; the next worker starts once the function timeout has passed since the kill and first
makes the batch its predecessor died with visible again. The killed invocation's IN_PROGRESS
idempotency records have expired by then, as they would have in Lambda before the
redelivery. The other worker keeps consuming meanwhile.

NOTE: moto 5.2.5 breaks FIFO order when a received message becomes visible again. It keeps
such a message in the queue's in-flight set until the next receive, whose loop drops it from
the set but skips it (its group still looks in flight), so the receive starts later in the
group. Every message that comes back by timeout does this; so does about one
``ChangeMessageVisibility(0)`` batch in two (the check after the change is ``now >
visible_at`` on the same clock reading). Releasing a killed batch at once avoids the first
case; the second, the runner's immediate retries, remains and can dead-letter a FIFO record
that real SQS would have delivered in order (a fix belongs in ``event_fanout/local/moto_compat``:
drop visible messages from the in-flight set before each receive).

Run: ``python benchmarks/fault_run.py [--events N] [--kills K] [--seed S] [--unguarded]``
(``--unguarded`` drops the effect's own guard: kills after an effect then show up as double
effects, which the runtime's idempotency alone cannot prevent).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from event_fanout.local.cdk_cli import CdkApp, bootstrap
from event_fanout.local.deploy import deploy
from event_fanout.local.deployed_stacks import stack_exists
from event_fanout.local.publisher import Published, StreamEvent, publish
from event_fanout.local.runner import DeployedMapping, discover_mappings
from event_fanout.local.server import LocalAws
from event_fanout.local.session import AwsSession, session_for

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fault_consumers import (  # noqa: E402 - benchmarks/ is not a package
    INFLIGHT_FILE,
    WorkerSpec,
    stats_path,
)
from fault_settings import (  # noqa: E402
    BUS_NAME,
    CONSUMERS,
    DETAIL_TYPE,
    EFFECT_KEY,
    EVENT_SOURCE,
    FUNCTION_TIMEOUT_SECONDS,
    STACK_NAME,
)

#: The CDK toolkit stack ``cdk bootstrap`` creates: present, the emulator is bootstrapped.
BOOTSTRAP_STACK = "CDKToolkit"
#: Written once every event is published (the workers drain against it).
PUBLISHED_FILE = "published"
#: Events per publishing step, and the queue backlog above which the producer waits.
PUBLISH_CHUNK = 100
MAX_BACKLOG = 1000
#: A re-published order reaches the bus this many events after the first publish, at most.
DUPLICATE_LAG = 30

Printer = Callable[[str], None]


@dataclass(frozen=True)
class Figures:
    """The reconciled run, summed over the consumers (``per_consumer``: each one's own).

    See the module docstring for each figure; ``poison`` and ``kills_after_effect`` are not on
    the line but are what ``in_dlq`` and ``crash_reruns`` are checked against.
    """

    published: int
    unique: int
    consumers: int
    effects: int
    duplicates_skipped: int
    in_dlq: int
    kills: int
    lost: int
    double_effects: int
    crash_reruns: int
    poison: int
    kills_after_effect: int
    per_consumer: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Consumer -> each lost order with what is known of it (empty when nothing was lost).
    lost_orders: dict[str, list[str]] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"published={self.published} unique={self.unique} consumers={self.consumers} "
            f"effects={self.effects} duplicates_skipped={self.duplicates_skipped} "
            f"in_dlq={self.in_dlq} kills={self.kills} lost={self.lost} "
            f"double_effects={self.double_effects} crash_reruns={self.crash_reruns}"
        )


@dataclass(frozen=True)
class OrderStream:
    """What to publish, in order, and which orders are poison."""

    events: list[StreamEvent]
    order_ids: list[str]
    poison: frozenset[str]


def order_stream(
    count: int, *, duplicate_rate: float, poison_rate: float, rng: random.Random
) -> OrderStream:
    """``count`` orders, some poison, with re-publishes of healthy ones a little later."""
    order_ids = [f"ord-{index:06d}" for index in range(count)]
    poison = frozenset(rng.sample(order_ids, round(count * poison_rate)))
    details = {
        order_id: {
            "orderId": order_id,
            "customerId": rng.randint(1, 200),
            "amount": rng.randint(5, 500),
            **({"poison": True} if order_id in poison else {}),
        }
        for order_id in order_ids
    }
    healthy = [order_id for order_id in order_ids if order_id not in poison]
    again = set(rng.sample(healthy, round(count * duplicate_rate)))
    slots: list[tuple[float, str, str]] = []
    for position, order_id in enumerate(order_ids):
        slots.append((position, order_id, "normal" if order_id not in poison else "poison"))
        if order_id in again:
            slots.append((position + rng.uniform(0.5, DUPLICATE_LAG), order_id, "duplicate"))
    slots.sort(key=lambda slot: slot[0])
    events = [
        StreamEvent(details[order_id], kind=kind, source=EVENT_SOURCE, detail_type=DETAIL_TYPE)
        for _, order_id, kind in slots
    ]
    return OrderStream(events=events, order_ids=order_ids, poison=poison)


def deploy_fault_app(aws_env: dict[str, str], work: Path, *, echo: Printer | None) -> None:
    """Bootstrap (unless done) and deploy the fault app with the real CDK CLI, verified."""
    app = CdkApp(
        stack_name=STACK_NAME,
        app=f"{sys.executable} {HERE / 'fault_app.py'}",
        workdir=HERE.parent,
        output_dir=work / "cdk.out",
    )
    if not stack_exists(session_for(aws_env).client("cloudformation"), BOOTSTRAP_STACK):
        bootstrap(aws_env, app, echo=echo)
    deploy(aws_env, app, echo=echo)


def consumer_of(mapping: DeployedMapping) -> str:
    """The fault app's name of the consumer a mapping feeds (its function is told it)."""
    return str(mapping.function.environment["FAULT_CONSUMER"])


class Worker:
    """One consumer's worker process (``fault_consumers.py``): start, kill, restart, release.

    Each consumer has its own worker, as each Lambda function has its own execution
    environments: a kill takes one consumer's invocation with it, the other carries on.
    """

    def __init__(
        self,
        session: AwsSession,
        mapping: DeployedMapping,
        run_dir: Path,
        *,
        invocation_env: dict[str, str],
        timeout_seconds: float,
    ) -> None:
        self.session = session
        self.mapping = mapping
        self.name = consumer_of(mapping)
        self.dir = run_dir / self.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.published_marker = run_dir / PUBLISHED_FILE
        self.invocation_env = {
            **invocation_env,
            "FAULT_CRASH_REQUEST": str(self.crash_request),
            "FAULT_CRASH_MARKER": str(self.crash_marker),
        }
        self.timeout_seconds = timeout_seconds
        self.incarnation = 0
        self.process: subprocess.Popen[bytes] | None = None
        #: The killed predecessor's in-flight batch, for the next incarnation to release.
        self.release_journal: Path | None = None

    @property
    def crash_request(self) -> Path:
        return self.dir / "crash-request"

    @property
    def crash_marker(self) -> Path:
        return self.dir / "crashed"

    def start(self, *, start_at: float) -> None:
        """Start the next incarnation; it receives nothing before ``start_at``."""
        self.incarnation += 1
        spec = WorkerSpec(
            aws_env=dict(self.session.env),
            mapping=self.mapping,
            worker_dir=self.dir,
            published_marker=self.published_marker,
            incarnation=self.incarnation,
            start_at=start_at,
            invocation_env=self.invocation_env,
            timeout_seconds=self.timeout_seconds,
            release_journal=self.release_journal,
        )
        spec_path = self.dir / f"spec-{self.incarnation}.pickle"
        spec_path.write_bytes(pickle.dumps(spec))
        with (self.dir / f"worker-{self.incarnation}.log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(HERE / "fault_consumers.py"), str(spec_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def busy(self) -> bool:
        """Running and past its first batch: a kill now interrupts work, not start-up."""
        return self.running() and stats_path(self.dir, self.incarnation).exists()

    def hung_or_gone(self) -> bool:
        """The handler hangs after the requested effect, or the process has exited."""
        return self.crash_marker.exists() or not self.running()

    def request_crash(self, after_effects: int) -> None:
        """Ask the handler to hang after its ``after_effects``-th next effect."""
        partial = self.crash_request.with_name("crash-request.partial")
        partial.write_text(str(after_effects))
        os.replace(partial, self.crash_request)

    def kill(self) -> float:
        """``SIGKILL`` the process and reap it; return the wall-clock time of the kill."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        killed_at = time.time()
        self.process.wait()
        self.crash_request.unlink(missing_ok=True)
        self.crash_marker.unlink(missing_ok=True)
        return killed_at

    def take_inflight(self) -> KilledBatch:
        """The batch the killed process had in flight, kept for the next incarnation to release.

        Its journal is renamed so the next incarnation's own journal cannot overwrite it; the
        next incarnation makes those messages visible again when it starts (``start_at``).
        """
        journal = self.dir / INFLIGHT_FILE
        if not journal.exists():
            self.release_journal = None
            return KilledBatch(self.name, [], [])
        self.release_journal = self.dir / f"killed-{self.incarnation}.json"
        os.replace(journal, self.release_journal)
        batch = json.loads(self.release_journal.read_text())
        return KilledBatch(self.name, batch["event_ids"], batch["receive_counts"])

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        """Kill a process still running (the run failed): never leave one behind."""
        if self.running():
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()


class BackgroundPublisher(threading.Thread):
    """Publish the stream while the workers consume, as a producer does; then say so.

    It holds back while a consumer queue has more than :data:`MAX_BACKLOG` messages waiting:
    the emulator's receive (and a FIFO queue's deduplication on send) scans the whole queue, so
    a 10,000-message backlog would make every call ten times slower than the 1,000-event run's.
    The marker file it writes at the end is what lets the workers call an empty queue drained.
    An error is kept for the caller (:attr:`error`) and the marker is not written.
    """

    def __init__(
        self,
        session: AwsSession,
        events: list[StreamEvent],
        queue_urls: list[str],
        marker: Path,
    ) -> None:
        super().__init__(name="fault-run-publisher", daemon=True)
        self.client = session.client("events")
        self.sqs = session.client("sqs")
        self.events = events
        self.queue_urls = queue_urls
        self.marker = marker
        self.published = Published()
        self.error: BaseException | None = None

    def backlog(self) -> int:
        """Messages waiting (visible) in the fullest consumer queue."""
        return max(
            int(
                self.sqs.get_queue_attributes(
                    QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]["ApproximateNumberOfMessages"]
            )
            for url in self.queue_urls
        )

    def run(self) -> None:
        try:
            for start in range(0, len(self.events), PUBLISH_CHUNK):
                while self.backlog() > MAX_BACKLOG:
                    time.sleep(0.25)
                chunk = publish(self.client, BUS_NAME, self.events[start : start + PUBLISH_CHUNK])
                for kind, ids in chunk.ids.items():
                    self.published.ids.setdefault(kind, []).extend(ids)
                self.published.details.update(chunk.details)
        except BaseException as error:  # handed to the caller, which raises it
            self.error = error
            return
        self.marker.write_text("")


@dataclass(frozen=True)
class KilledBatch:
    """The batch a killed worker had received last: its events, their receive counts."""

    consumer: str
    event_ids: list[str]
    receive_counts: list[int]


@dataclass
class Kills:
    """What the kills did: how many, how many landed right after an effect, on which batches."""

    total: int = 0
    after_effect: int = 0
    batches: list[KilledBatch] = field(default_factory=list)


def run_workers_with_kills(
    workers: list[Worker],
    *,
    publisher: BackgroundPublisher,
    kills: int,
    rng: random.Random,
    events: int,
    echo: Printer | None,
) -> Kills:
    """Run the workers until their queues drain, ``SIGKILL``ing one ``kills`` times on the way.

    Between kills the run waits a random time; then it picks a busy worker at random. Every
    other kill (the first, the third, ...) asks that worker's handler to hang right after its
    ``n``-th next effect (``n`` random) and kills it there; the others kill it wherever it is.
    Pauses and ``n`` scale with the run's size, so a long run's kills are spread over more of
    it. A killed worker is restarted once the killed invocation's time is up (see the module
    docstring); the others keep consuming meanwhile.
    """
    scale = max(1.0, events / 1000)
    done = Kills()
    publisher.start()
    for worker in workers:
        worker.start(start_at=time.time())

    def wait(until: Callable[[], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if publisher.error is not None:
                raise RuntimeError(f"publishing failed: {publisher.error!r}") from publisher.error
            if until():
                return True
            time.sleep(0.01)
        return until()

    while done.total < kills:
        wait(lambda: False, rng.uniform(0.2, 2.0) * scale)
        wait(
            lambda: any(w.busy() for w in workers) or not any(w.running() for w in workers),
            60 * scale,
        )
        busy = [w for w in workers if w.busy()]
        if not busy:
            break  # the queues drained before this kill
        worker = rng.choice(busy)
        after_effect = done.total % 2 == 0
        if after_effect:
            worker.request_crash(rng.randint(1, int(20 * scale)))
            hung = wait(worker.hung_or_gone, 60 * scale)
            if not worker.running():
                worker.crash_request.unlink(missing_ok=True)
                continue  # its queue drained first: pick again
            after_effect = hung
        killed_at = worker.kill()
        done.total += 1
        done.after_effect += after_effect
        # The killed invocation's IN_PROGRESS records expire by its start + the timeout: the
        # next worker starts (and releases the killed batch) only then.
        batch = worker.take_inflight()
        done.batches.append(batch)
        worker.start(start_at=killed_at + FUNCTION_TIMEOUT_SECONDS + 0.2)
        if echo is not None:
            where = "right after an effect" if after_effect else "at a random moment"
            receives = sorted(set(batch.receive_counts))
            echo(
                f"kill {done.total}: {worker.name} {where}, its last batch "
                f"{len(batch.event_ids)} message(s) at receive {receives}; restarted"
            )
    limit = max(w.timeout_seconds for w in workers) + 60
    wait(lambda: not any(w.running() for w in workers), limit)
    publisher.join()
    for worker in workers:
        if worker.exit_code() != 0:
            log = worker.dir / f"worker-{worker.incarnation}.log"
            raise RuntimeError(
                f"the {worker.name} worker exited with {worker.exit_code()}:\n"
                f"{log.read_text()[-3000:]}"
            )
    return done


def read_dead_letters(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message of a DLQ, received and deleted (a FIFO group yields the next batch only
    once the one before is deleted). The queues are the run's own."""
    bodies: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300, WaitTimeSeconds=0
        )
        messages = response.get("Messages", [])
        if not messages:
            return bodies
        bodies += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )


def dead_letter_url(sqs: Any, mapping: DeployedMapping) -> str:
    """The DLQ of a mapping's queue, from its redrive policy."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=mapping.queue_url, AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    dlq_arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    account, name = dlq_arn.split(":")[4], dlq_arn.split(":")[5]
    return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def effects_table_items(session: AwsSession, mapping: DeployedMapping) -> list[dict[str, Any]]:
    """Every item of the effects table (one per consumer and applied order)."""
    table = session.client("dynamodb")
    name = mapping.function.environment["EFFECTS_TABLE_NAME"]
    items: list[dict[str, Any]] = []
    for page in table.get_paginator("scan").paginate(TableName=name):
        items += page["Items"]
    return items


def reconcile(
    session: AwsSession,
    workers: list[Worker],
    stream: OrderStream,
    published: Published,
    kills: Kills,
) -> Figures:
    """Compare effects and dead letters with what was published, per consumer, then sum."""
    sqs = session.client("sqs")
    counts: dict[str, dict[str, int]] = {}
    reruns: dict[str, int] = {}
    for item in effects_table_items(session, workers[0].mapping):
        consumer, _, order_id = item[EFFECT_KEY]["S"].partition("#")
        counts.setdefault(consumer, {})[order_id] = int(item.get("effects", {"N": "0"})["N"])
        reruns[consumer] = reruns.get(consumer, 0) + int(item.get("reruns", {"N": "0"})["N"])
    healthy = [order_id for order_id in stream.order_ids if order_id not in stream.poison]
    killed_events: dict[str, dict[str, int]] = {}
    for batch in kills.batches:
        for event_id, receives in zip(batch.event_ids, batch.receive_counts, strict=True):
            killed_events.setdefault(batch.consumer, {})[event_id] = receives
    per_consumer: dict[str, dict[str, int]] = {}
    lost_orders: dict[str, list[str]] = {}
    for worker in workers:
        name = worker.name
        effects = counts.get(name, {})
        stats = [json.loads(path.read_text()) for path in worker.dir.glob("stats-*.json")]
        dead = read_dead_letters(sqs, dead_letter_url(sqs, worker.mapping))
        dead_orders = {body["detail"]["orderId"] for body in dead}
        lost = {o for o in healthy if effects.get(o, 0) == 0} | (dead_orders - stream.poison)
        lost_orders[name] = [
            describe_lost(order_id, effects, dead_orders, killed_events.get(name, {}), published)
            for order_id in sorted(lost)
        ]
        per_consumer[name] = {
            "effects": sum(effects.values()),
            "duplicates_skipped": sum(int(s["metrics"].get("Duplicate", 0)) for s in stats),
            "in_dlq": len(dead),
            "lost": len(lost),
            "double_effects": sum(1 for n in effects.values() if n > 1),
            "crash_reruns": reruns.get(name, 0),
            "longest_invocation_ms": round(
                1000 * max((s["longest_invocation_seconds"] for s in stats), default=0)
            ),
        }

    def total(figure: str) -> int:
        return sum(figures[figure] for figures in per_consumer.values())

    return Figures(
        published=published.total,
        unique=len(stream.order_ids),
        consumers=len(workers),
        effects=total("effects"),
        duplicates_skipped=total("duplicates_skipped"),
        in_dlq=total("in_dlq"),
        kills=kills.total,
        lost=total("lost"),
        double_effects=total("double_effects"),
        crash_reruns=total("crash_reruns"),
        poison=len(stream.poison),
        kills_after_effect=kills.after_effect,
        per_consumer=per_consumer,
        lost_orders=lost_orders,
    )


def describe_lost(
    order_id: str,
    effects: dict[str, int],
    dead_orders: set[str],
    killed_events: dict[str, int],
    published: Published,
) -> str:
    """One lost order, and what the run knows of why: for the report of a failed run."""
    facts = [f"{effects.get(order_id, 0)} effect(s)"]
    if order_id in dead_orders:
        facts.append("in the DLQ")
    for event_id, event in published.details.items():
        if event.detail["orderId"] == order_id and event_id in killed_events:
            facts.append(f"event {event_id} in a killed batch at receive {killed_events[event_id]}")
    return f"{order_id}: {', '.join(facts)}"


def fault_run(
    aws: LocalAws,
    *,
    events: int = 10_000,
    kills: int = 5,
    seed: int = 11,
    duplicate_rate: float = 0.10,
    poison_rate: float = 0.02,
    transient_rate: float = 0.05,
    guard_effect: bool = True,
    work_dir: Path | None = None,
    echo: Printer | None = None,
) -> Figures:
    """Deploy the fault app, publish, run and kill the consumers, reconcile; return the figures."""
    work = work_dir or Path(tempfile.mkdtemp(prefix="event-fanout-fault-run-"))
    run_dir = work / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    started = time.monotonic()

    def step(message: str) -> None:
        if echo is not None:
            echo(f"[{time.monotonic() - started:6.1f} s] {message}")

    aws_env = dict(aws.environment)
    step(f"cdk deploy {STACK_NAME} (work directory: {work})")
    deploy_fault_app(aws_env, work, echo=None)
    session = session_for(aws_env)
    mappings = discover_mappings(session, STACK_NAME, work / "functions")
    if sorted(consumer_of(m) for m in mappings) != sorted(CONSUMERS):
        raise RuntimeError(f"expected the consumers {sorted(CONSUMERS)}, found {mappings}")
    stream = order_stream(events, duplicate_rate=duplicate_rate, poison_rate=poison_rate, rng=rng)
    invocation_env = {
        "FAULT_TRANSIENT_RATE": str(transient_rate),
        "FAULT_GUARD_EFFECT": "1" if guard_effect else "0",
    }
    workers = [
        Worker(
            session,
            mapping,
            run_dir,
            invocation_env=invocation_env,
            timeout_seconds=120 + events * 0.2,
        )
        for mapping in mappings
    ]
    publisher = BackgroundPublisher(
        session, stream.events, [m.queue_url for m in mappings], run_dir / PUBLISHED_FILE
    )
    step(
        f"publish {len(stream.events)} events to {BUS_NAME} while the workers consume; "
        f"kill a worker {kills} times"
    )
    try:
        done = run_workers_with_kills(
            workers, publisher=publisher, kills=kills, rng=rng, events=events, echo=step
        )
    finally:
        for worker in workers:
            worker.stop()
    step("reconcile effects and dead letters")
    figures = reconcile(session, workers, stream, publisher.published, done)
    step(f"done: {json.dumps(figures.per_consumer)}")
    for consumer, orders in figures.lost_orders.items():
        for order in orders:
            step(f"lost by {consumer}: {order}")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000, help="distinct orders")
    parser.add_argument("--kills", type=int, default=5, help="SIGKILLs of the consumers")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--unguarded",
        action="store_true",
        help="drop the effect's own guard (kills after an effect become double effects)",
    )
    parser.add_argument("--verbose", action="store_true", help="steps and kills on stderr")
    args = parser.parse_args()
    echo = (lambda line: print(line, file=sys.stderr)) if args.verbose else None
    with LocalAws() as aws:
        figures = fault_run(
            aws,
            events=args.events,
            kills=args.kills,
            seed=args.seed,
            guard_effect=not args.unguarded,
            echo=echo,
        )
    print(figures.line())
    return 0 if figures.lost == 0 and figures.double_effects == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
