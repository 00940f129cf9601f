"""The local runner's concurrency: batches of one mapping at once, capped by MaximumConcurrency.

Lambda runs up to a mapping's ``MaximumConcurrency`` batches at once, each in its own execution
environment, and stops an invocation at the function's timeout. The runner's ``concurrency``
does the same with worker processes. The queues are real (the emulator's SQS); the mappings are
described by hand, as :func:`~event_fanout.local.runner.discover_mappings` would read them,
because what is tested is the runner, not a deployment.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from event_fanout.local.runner import DeployedFunction, DeployedMapping, EventSourceRunner
from event_fanout.local.server import LocalAws
from event_fanout.local.session import AwsSession, session_for

#: Each invocation records when it ran (a line per start and per end) in INTERVALS_DIR, then
#: sleeps; the record whose body says "slow" sleeps past the function's timeout on its first
#: receive.
HANDLER = textwrap.dedent(
    """
    import json, os, time

    def handler(event, context):
        log = os.path.join(os.environ["INTERVALS_DIR"], os.environ["AWS_LAMBDA_FUNCTION_NAME"])
        record = event["Records"][0]
        body = json.loads(record["body"])
        first = record["attributes"]["ApproximateReceiveCount"] == "1"
        with open(log, "a") as out:
            out.write(json.dumps(["start", body["n"], time.time(), os.getpid()]) + "\\n")
        time.sleep(30 if body.get("slow") and first else 0.6)
        with open(log, "a") as out:
            out.write(json.dumps(["end", body["n"], time.time(), os.getpid()]) + "\\n")
        return {"batchItemFailures": []}
    """
)


def _mapping(session: AwsSession, tmp_path: Path, name: str, cap: int | None) -> DeployedMapping:
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName=f"concurrency-{name}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    code = tmp_path / name
    code.mkdir()
    (code / "index.py").write_text(HANDLER)
    function = DeployedFunction(
        name=name,
        arn=f"arn:aws:lambda:eu-west-1:123456789012:function:{name}",
        handler="index.handler",
        environment={},
        timeout_seconds=2,
        memory_mb=128,
        code_dir=code,
        layer_dirs=(),
    )
    return DeployedMapping(
        uuid=name,
        queue_arn=arn,
        queue_url=url,
        batch_size=1,
        batching_window_seconds=0,
        max_concurrency=cap,
        partial_batch_responses=True,
        function=function,
    )


def _send(session: AwsSession, mapping: DeployedMapping, bodies: list[dict[str, object]]) -> None:
    session.client("sqs").send_message_batch(
        QueueUrl=mapping.queue_url,
        Entries=[{"Id": str(i), "MessageBody": json.dumps(b)} for i, b in enumerate(bodies)],
    )


def _intervals(log: Path) -> dict[int, list[tuple[str, float, int]]]:
    """Invocation number -> its start and end lines (kind, time, pid), in order."""
    lines: dict[int, list[tuple[str, float, int]]] = {}
    for line in log.read_text().splitlines():
        kind, number, at, pid = json.loads(line)
        lines.setdefault(number, []).append((kind, at, pid))
    return lines


def _peak_overlap(log: Path) -> int:
    """The most invocations that were running at the same moment."""
    moments = sorted(
        (at, 1 if kind == "start" else -1)
        for events in _intervals(log).values()
        for kind, at, _ in events
    )
    running = peak = 0
    for _, step in moments:
        running += step
        peak = max(peak, running)
    return peak


def test_batches_of_a_mapping_run_concurrently_up_to_its_maximum_concurrency(
    local_aws: LocalAws, tmp_path: Path
) -> None:
    # GIVEN a mapping capped at MaximumConcurrency 2 and an uncapped one, 8 one-record batches
    # each, and a runner allowed 4 concurrent invocations per mapping
    session = session_for(local_aws.environment)
    capped = _mapping(session, tmp_path, "Capped", cap=2)
    uncapped = _mapping(session, tmp_path, "Uncapped", cap=None)
    for mapping in (capped, uncapped):
        _send(session, mapping, [{"n": n} for n in range(8)])
    intervals = tmp_path / "intervals"
    intervals.mkdir()
    runner = EventSourceRunner(
        session,
        [capped, uncapped],
        retry_delay=0,
        receive_wait_seconds=0,
        invocation_env={**local_aws.environment, "INTERVALS_DIR": str(intervals)},
        concurrency=4,
    )

    # WHEN the runner drains both queues
    with runner:
        stats = runner.run_until_drained(timeout=60)

    # THEN every record ran once, the capped mapping never ran more than 2 batches at once and
    # reached 2, the uncapped one reached the runner's 4, each in environments reused while warm
    assert runner.concurrency_of(capped) == 2 and runner.concurrency_of(uncapped) == 4
    for mapping, peak in ((capped, 2), (uncapped, 4)):
        assert stats[mapping.uuid].succeeded == 8
        assert sorted(_intervals(intervals / mapping.function.name)) == list(range(8))
        assert _peak_overlap(intervals / mapping.function.name) == peak
        pids = {
            pid
            for events in _intervals(intervals / mapping.function.name).values()
            for _, _, pid in events
        }
        assert len(pids) == peak


def test_an_invocation_past_its_timeout_is_killed_and_its_batch_retried(
    local_aws: LocalAws, tmp_path: Path
) -> None:
    # GIVEN a 2-second function whose first delivery of one record sleeps for 30 seconds
    session = session_for(local_aws.environment)
    mapping = _mapping(session, tmp_path, "Slow", cap=None)
    _send(session, mapping, [{"n": 0, "slow": True}, {"n": 1}])
    intervals = tmp_path / "intervals"
    intervals.mkdir()
    log_dir = tmp_path / "logs"

    # WHEN the runner (2 execution environments) drains the queue
    with EventSourceRunner(
        session,
        [mapping],
        retry_delay=0,
        receive_wait_seconds=0,
        log_dir=log_dir,
        invocation_env={**local_aws.environment, "INTERVALS_DIR": str(intervals)},
        concurrency=2,
    ) as runner:
        stats = runner.run_until_drained(timeout=25)[mapping.uuid]

    # THEN the slow invocation was stopped at the timeout (it never reached its end), its record
    # was delivered again and succeeded, and the function's log says what happened
    slow = _intervals(intervals / "Slow")[0]
    assert [kind for kind, _, _ in slow] == ["start", "start", "end"]
    assert slow[0][2] != slow[1][2]  # the retry ran in a new environment
    assert (stats.succeeded, stats.failed, stats.batch_errors) == (2, 1, 1)
    assert "Task timed out after 2 seconds" in (log_dir / "Slow.log").read_text()
