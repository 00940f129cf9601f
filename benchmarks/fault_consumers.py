"""A consumer worker of the fault run: Lambda's event source mapping, in a process to kill.

``benchmarks/fault_run.py`` starts one of these per consumer
(``python benchmarks/fault_consumers.py SPEC``) and ``SIGKILL``s them at random moments. Each
plays its deployed mapping with the local runner
(:class:`~event_fanout.local.runner.EventSourceRunner`) until the queue drains, and leaves two
files in its directory for whoever killed it, both replaced atomically so a kill never leaves
half of one:

- ``inflight.json``: the receipt handles (and event ids, receive counts) of the batch it
  received last, written before the handler runs. After a kill those messages would stay
  invisible for the queue's visibility timeout (6 x the function timeout); the next worker
  makes them visible again when it starts, after the killed invocation's time is up (see
  ``fault_run.py``).
- ``stats-<incarnation>.json``: the runtime's metrics (processed, duplicates, failed) summed
  over this process's invocations, after each batch: a kill takes at most one batch's with it.

An empty queue counts as drained only once the fault run has written its ``published`` marker
(it publishes while the workers consume). ``SPEC`` is a pickle of :class:`WorkerSpec`; the
worker receives nothing before ``start_at`` (wall clock), so it never overlaps the invocation
it replaces.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from event_fanout.local.runner import DeployedMapping, EventSourceRunner
from event_fanout.local.session import session_for

INFLIGHT_FILE = "inflight.json"
#: When the queue is empty or all in flight, wait this long before polling it again.
IDLE_SLEEP_SECONDS = 0.05


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker process runs."""

    aws_env: dict[str, str]
    mapping: DeployedMapping
    worker_dir: Path
    #: Exists once every event is published: only then is an empty queue a drained one.
    published_marker: Path
    incarnation: int
    #: Wall-clock time (``time.time()``) before which nothing is received.
    start_at: float
    #: Added to every invocation's environment (the handler's fault settings).
    invocation_env: dict[str, str]
    timeout_seconds: float
    #: The batch a killed predecessor had in flight (its ``inflight.json``), to make visible
    #: again at ``start_at``; None for a first start.
    release_journal: Path | None = None


def stats_path(worker_dir: Path, incarnation: int) -> Path:
    """Where incarnation ``incarnation`` of a worker leaves its metrics."""
    return worker_dir / f"stats-{incarnation}.json"


def write_atomically(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON: a reader (or a kill) never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)


class KillableRunner(EventSourceRunner):
    """The local runner, journaling the batch in flight and pausing when there is nothing to do.

    Failed records are visible again at once (``retry_delay=0``): transient failures and poison
    records then cost no waiting, and a record IN_PROGRESS from a killed invocation cannot fail
    a retry, because this process starts after that invocation's time is up.
    """

    def __init__(self, spec: WorkerSpec) -> None:
        super().__init__(
            session_for(spec.aws_env),
            [spec.mapping],
            retry_delay=0,
            log_dir=spec.worker_dir / "logs",
            invocation_env={**spec.aws_env, **spec.invocation_env},
            receive_wait_seconds=0,
        )
        self.spec = spec
        #: The longest invocation (seconds): how close batches come to the function timeout.
        self.longest_invocation = 0.0

    def receive_batch(self, mapping: DeployedMapping) -> list[dict[str, Any]]:
        """Receive as the runner does, then journal the batch before it is handled."""
        messages = super().receive_batch(mapping)
        if messages:
            write_atomically(
                self.spec.worker_dir / INFLIGHT_FILE,
                {
                    "queue_url": mapping.queue_url,
                    "receipt_handles": [m["ReceiptHandle"] for m in messages],
                    # For the run's report of what a kill interrupted.
                    "event_ids": [json.loads(m["Body"]).get("id") for m in messages],
                    "receive_counts": [
                        int(m.get("Attributes", {}).get("ApproximateReceiveCount", 0))
                        for m in messages
                    ],
                },
            )
        return messages

    def poll_once(self, mapping: DeployedMapping) -> int:
        """Poll as the runner does; after an empty poll, pause briefly.

        Without the pause a queue whose messages are all in flight (a FIFO group behind a
        killed batch) is polled in a tight loop, which on two cores takes the emulator's time
        from the other worker.
        """
        count = super().poll_once(mapping)
        if not count:
            time.sleep(IDLE_SLEEP_SECONDS)
        return count

    def invoke(self, mapping: DeployedMapping, event: dict[str, Any]) -> set[str]:
        """Invoke as the runner does, timing the invocation."""
        started = time.monotonic()
        try:
            return super().invoke(mapping, event)
        finally:
            self.longest_invocation = max(self.longest_invocation, time.monotonic() - started)

    def queue_depth(self, mapping: DeployedMapping) -> int:
        """The queue's depth, and at least 1 while the producer is still publishing."""
        depth = super().queue_depth(mapping)
        if depth == 0 and not self.spec.published_marker.exists():
            return 1
        return depth

    def save_stats(self, mapping: DeployedMapping, count: int) -> None:
        """``on_batch``: leave this process's figures so far for the fault run."""
        stats = self.stats[mapping.uuid]
        write_atomically(
            stats_path(self.spec.worker_dir, self.spec.incarnation),
            {
                "metrics": stats.metrics,
                "records": stats.records,
                "invocations": stats.invocations,
                "batch_errors": stats.batch_errors,
                "longest_invocation_seconds": round(self.longest_invocation, 3),
            },
        )


def release(runner: KillableRunner, journal: Path) -> None:
    """Make a killed predecessor's batch visible now (handles it deleted are rejected: fine).

    Released here at once, not by letting the visibility timeout run out: moto's FIFO receive
    then delivers a returning batch out of order (see ``fault_run.py``).
    """
    batch = json.loads(journal.read_text())
    sqs = runner.session.client("sqs")
    handles: list[str] = batch["receipt_handles"]
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=batch["queue_url"],
            Entries=[
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, handle in enumerate(handles[start : start + 10])
            ],
        )
    journal.unlink()


def main(spec_path: Path) -> int:
    """Run the worker of ``spec_path`` until its queue drains; 0 when it did."""
    spec: WorkerSpec = pickle.loads(spec_path.read_bytes())
    runner = KillableRunner(spec)
    # What the handler imports, loaded while waiting rather than during the first batch.
    importlib.import_module("event_fanout.runtime.consumer")
    delay = spec.start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    if spec.release_journal is not None and spec.release_journal.exists():
        release(runner, spec.release_journal)
    try:
        runner.run_until_drained(timeout=spec.timeout_seconds, on_batch=runner.save_stats)
    except TimeoutError as error:
        print(f"fault run worker: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
