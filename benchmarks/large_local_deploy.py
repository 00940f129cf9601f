"""A fan-out spread over nested stacks, deployed into the local emulator with the real CDK CLI.

Starts the emulator (:class:`~event_fanout.local.server.LocalAws`), bootstraps it, and runs
``cdk deploy`` of ``benchmarks/large_fanout_app.py`` (120 consumers by default, so the parent
stack and the nested stacks ``ConsumersShard1..4``). Then it checks that every template, the
parent's and each nested stack's, has all its resources deployed, and publishes a few events
that only a consumer in the last shard subscribes to (plus one for a consumer of the parent) and
checks that exactly those reach that consumer's queue. Prints one line of figures (here on two
cores)::

    consumers=120 templates=5 resources=444/450/450/450/146 bootstrap_s=3.1 synth_deploy_s=33.0
    delivered=3/3 verified=yes

``resources`` counts each template's resources, parent first (CloudFormation's limit is 500);
``synth_deploy_s`` is the ``cdk deploy`` run (synth, asset upload, stack creation) plus the
verification; ``delivered`` is received/published for the shard consumer. Exit code 1 on any
failure (``verified=no``, the reason on stderr).

Run: ``python benchmarks/large_local_deploy.py [--consumers N] [--verbose]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from event_fanout.local.cdk_cli import CdkApp, DeployError, bootstrap
from event_fanout.local.deploy import deploy
from event_fanout.local.server import LocalAws, LocalAwsError
from event_fanout.local.session import AwsSession, session_for
from event_fanout.local.verification import VerifiedStack

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from large_fanout_app import (  # noqa: E402 - benchmarks/ is not a package
    BUS_NAME,
    CONSUMERS_VARIABLE,
    DEFAULT_CONSUMERS,
    EVENT_SOURCE,
    STACK_NAME,
    detail_type,
)


class CheckError(RuntimeError):
    """The deployed fan-out is not what the app describes, or events do not arrive."""


@dataclass
class Figures:
    consumers: int
    resources: list[int] = field(default_factory=list)
    bootstrap_seconds: float | None = None
    deploy_seconds: float | None = None
    delivered: str = "-"
    verified: bool = False
    #: The largest template's bytes, parameters and outputs (limits: 1 MB, 200, 200).
    largest: tuple[int, int, int] = (0, 0, 0)

    def line(self) -> str:
        def seconds(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"

        return (
            f"consumers={self.consumers} templates={len(self.resources) or '-'} "
            f"resources={'/'.join(map(str, self.resources)) or '-'} "
            f"bootstrap_s={seconds(self.bootstrap_seconds)} "
            f"synth_deploy_s={seconds(self.deploy_seconds)} delivered={self.delivered} "
            f"max_template_kb={self.largest[0] // 1024} max_parameters={self.largest[1]} "
            f"max_outputs={self.largest[2]} verified={'yes' if self.verified else 'no'}"
        )


@dataclass(frozen=True)
class ShardConsumer:
    """A consumer found in a nested stack's template: its detail type and deployed queue."""

    stack_name: str
    detail_type: str
    queue_physical_id: str


def shard_consumer(stack: VerifiedStack) -> ShardConsumer:
    """The first consumer rule of ``stack``'s template and the queue its target names."""
    template: dict[str, Any] = json.loads(stack.template_path.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        properties = resource["Properties"]
        (kind,) = properties["EventPattern"]["detail-type"]
        queue_logical_id = properties["Targets"][0]["Arn"]["Fn::GetAtt"][0]
        return ShardConsumer(stack.stack_name, kind, stack.resources[queue_logical_id])
    raise CheckError(f"{stack.stack_name} has no consumer rule")


def check_delivery(session: AwsSession, consumer: ShardConsumer, events: int) -> str:
    """Publish ``events`` events for ``consumer`` and one for another; check what arrives.

    Returns ``<received>/<published>`` for the figure line; raises :class:`CheckError` unless
    exactly the consumer's events (not the other one) are in its queue.
    """
    events_client, sqs = session.client("events"), session.client("sqs")
    other = detail_type(0) if consumer.detail_type != detail_type(0) else detail_type(1)
    entries = [
        {
            "EventBusName": BUS_NAME,
            "Source": EVENT_SOURCE,
            "DetailType": kind,
            "Detail": json.dumps({"sequence": index}),
        }
        for index, kind in enumerate([consumer.detail_type] * events + [other])
    ]
    response = events_client.put_events(Entries=entries)
    if response.get("FailedEntryCount"):
        raise CheckError(f"put_events failed for {response['FailedEntryCount']} entries")
    queue_name = consumer.queue_physical_id.rsplit("/", 1)[-1]
    queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        received += [json.loads(message["Body"]) for message in batch.get("Messages", [])]
        if len(received) > events:
            break
        if len(received) == events and not batch.get("Messages"):
            break
    kinds = sorted({body["detail-type"] for body in received})
    if len(received) != events or kinds != [consumer.detail_type]:
        raise CheckError(
            f"{consumer.stack_name}: expected {events} {consumer.detail_type} events in "
            f"{queue_name}, received {len(received)} of types {kinds}"
        )
    return f"{len(received)}/{events}"


#: CloudFormation's limits per template: resources, bytes (S3 upload), parameters, outputs.
TEMPLATE_LIMITS = (500, 1_000_000, 200, 200)


def template_limits(assembly_dir: Path) -> tuple[int, int, int]:
    """The largest template's bytes, parameters and outputs; raise past a limit."""
    sizes: list[tuple[int, int, int]] = []
    for path in sorted(assembly_dir.glob("*.template.json")):
        template = json.loads(path.read_text())
        figures = (
            len(template.get("Resources", {})),
            path.stat().st_size,
            len(template.get("Parameters", {})),
            len(template.get("Outputs", {})),
        )
        over = [
            f"{value} > {limit}"
            for value, limit in zip(figures, TEMPLATE_LIMITS, strict=True)
            if value > limit
        ]
        if over:
            raise CheckError(f"{path.name} is past CloudFormation's limits: {', '.join(over)}")
        sizes.append(figures[1:])
    return (max(s[0] for s in sizes), max(s[1] for s in sizes), max(s[2] for s in sizes))


def run(consumers: int, events: int, *, verbose: bool, log_path: Path | None) -> Figures:
    """Deploy the large fan-out into a fresh emulator and check it; fill ``figures`` as it goes."""
    figures = Figures(consumers)
    echo = (lambda line: print(line, file=sys.stderr)) if verbose else None
    work = Path(tempfile.mkdtemp(prefix="event-fanout-large-"))
    app = CdkApp(
        stack_name=STACK_NAME,
        app=f"python {HERE / 'large_fanout_app.py'}",
        output_dir=work / "cdk.out",
    )
    try:
        with LocalAws(log_path=log_path) as aws:
            env = {**aws.environment, CONSUMERS_VARIABLE: str(consumers)}
            started = time.monotonic()
            bootstrap(env, app, echo=echo)
            figures.bootstrap_seconds = time.monotonic() - started
            started = time.monotonic()
            stacks = deploy(env, app, echo=echo)  # every template verified (or DeployError)
            figures.deploy_seconds = time.monotonic() - started
            session = session_for(env)
            figures.resources = [stack.template_resources for stack in stacks]
            synthesized = 1 + len(list(app.assembly_dir.glob("*.nested.template.json")))
            if len(stacks) != synthesized:
                raise CheckError(
                    f"{synthesized} templates were synthesized, {len(stacks)} stacks deployed"
                )
            if len(stacks) < 2:
                raise CheckError(f"{consumers} consumers fit in one stack: nothing is sharded")
            figures.largest = template_limits(app.assembly_dir)
            figures.delivered = check_delivery(session, shard_consumer(stacks[-1]), events)
            figures.verified = True
    except (DeployError, LocalAwsError, CheckError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consumers", type=int, default=DEFAULT_CONSUMERS)
    parser.add_argument("--events", type=int, default=3, help="events for the shard consumer")
    parser.add_argument("--verbose", action="store_true", help="echo the CDK CLI's output")
    parser.add_argument("--moto-log", type=Path, help="file for the emulator's request log")
    args = parser.parse_args()
    figures = run(args.consumers, args.events, verbose=args.verbose, log_path=args.moto_log)
    print(figures.line())
    return 0 if figures.verified else 1


if __name__ == "__main__":
    sys.exit(main())
