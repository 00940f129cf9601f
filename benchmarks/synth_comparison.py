"""Synth time, resources and template size: this library vs Solutions Constructs vs plain L2.

Builds the same fan-out three ways for N consumers and prints each figure as a ratio to the
hand-wired plain-L2 arm::

    python benchmarks/synth_comparison.py            # N = 1, 10, 25, 50; 3 repetitions
    python benchmarks/synth_comparison.py --quick    # N = 1, 10; 1 repetition (smoke test)
    python benchmarks/synth_comparison.py --with-tests   # also time the test suite
    python benchmarks/synth_comparison.py --count-requests --sizes 50   # jsii round trips
    python benchmarks/synth_comparison.py --sizes 50 --reps 20 --arms event_fanout,solutions

Every measurement runs in a fresh Python process (the jsii kernel warms up, so a second synth in
the same process is faster and would favour whichever arm runs later), and the arms are
interleaved within each repetition, in rotating order, so drift on a shared machine hits them
all alike. The figure reported is the median over repetitions.

Two clocks: "synth" covers building the constructs and ``app.synth()``, with every module
imported and the jsii kernel started beforehand (the same aws-cdk-lib modules in every arm);
"whole app" runs from the start of the process to the end of ``app.synth()``, what ``cdk
synth`` waits for, including the import of each arm's library (this one; Solutions
Constructs' three jsii assemblies; nothing for plain L2, which ships the runtime layer from a
directory the driver stages).

``--count-requests`` counts requests to the jsii kernel instead (deterministic, unlike the
clock): every property read, method call and object creation from Python, and every answer to a
callback from Node.js (a construct implemented in Python, a Python ``IResolvable``), split into
building the constructs and ``app.synth()``.

What each arm builds per consumer (the features of one ``FanoutConsumer``):

- a rule on the shared bus whose SQS target has a retry policy and the fan-out's
  undeliverable-events queue as its dead-letter queue;
- an SQS-managed-SSE, TLS-only queue whose policy admits only its rule; a DLQ with a redrive
  policy (5 receives) and a redrive-allow policy naming only the source queue;
- an event source mapping with partial batch responses;
- an idempotency table (``id`` key, TTL on ``expiration``, on-demand, point-in-time recovery)
  with read/write granted and its name in the function's environment;
- the Powertools layer (by ARN) and one shared runtime layer per stack;
- five alarms (DLQ depth, oldest message age, function errors, throttles, rule failed
  invocations) notifying an SNS topic;

plus, once per fan-out: the bus, a 30-day archive, the undeliverable-events queue and its alarm.

Solutions Constructs: ``aws-solutions-constructs-aws-eventbridge-sqs`` and ``-aws-sqs-lambda``
2.105.0 declare ``aws-cdk.cloud-assembly-schema<55`` while aws-cdk-lib 2.275 needs ``>=55``, so
pip cannot install them next to this project. They are installed with ``--no-deps`` into a
separate directory (``--solutions-site``, default ``/tmp/bench-sc/site``; created on first use)
that only that arm's subprocess puts on ``PYTHONPATH``: the same aws-cdk-lib 2.275 serves all
three arms. What they do not provide (table, alarms, layers, redrive-allow) is added by hand.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_VERSION = "2.105.0"
SOLUTIONS_PACKAGES = (
    f"aws-solutions-constructs-aws-eventbridge-sqs=={SOLUTIONS_VERSION}",
    f"aws-solutions-constructs-aws-sqs-lambda=={SOLUTIONS_VERSION}",
    f"aws-solutions-constructs-core=={SOLUTIONS_VERSION}",
)
VARIANTS = ("plain_l2", "event_fanout", "solutions", "event_fanout_sharded")
LABELS = {
    "plain_l2": "plain L2",
    "event_fanout": "event_fanout",
    "solutions": "Solutions Constructs",
    "event_fanout_sharded": "event_fanout, shards",
}
#: The auto-sharded arm only differs from the one-stack arm once a stack overflows.
SHARDED_FROM = 30
ENV_VARS = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}


# -- the three arms (run inside the worker process) ---------------------------------------------


#: Extra context for every arm, from ``--context`` (the driver hands it to its workers).
EXTRA_CONTEXT_ENV = "SYNTH_BENCH_EXTRA_CONTEXT"


def _context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    context.update(json.loads(os.environ.get(EXTRA_CONTEXT_ENV, "{}")))
    return context


def _context_pair(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is JSON when it parses (``true``, 3)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _build(variant: str, consumers: int, outdir: str) -> Any:
    """Build and synthesize one app; return the cloud assembly."""
    return _construct(variant, consumers, outdir).synth()


def _construct(variant: str, consumers: int, outdir: str) -> Any:
    """Build one app's constructs, not yet synthesized; return the app."""
    from aws_cdk import App, DefaultStackSynthesizer, Environment, Stack
    from aws_cdk import aws_cloudwatch_actions as cw_actions
    from aws_cdk import aws_sns as sns

    # One-stack arms past ~30 consumers exceed CloudFormation's 500 resources: lift CDK's check
    # so their synth time can still be measured (the table flags the template as too big).
    app = App(context={**_context(), "@aws-cdk/core:stackResourceLimit": 0}, outdir=outdir)
    stack = Stack(
        app,
        "Bench",
        env=Environment(account="123456789012", region="eu-west-1"),
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    topic = sns.Topic(stack, "AlarmTopic")
    action = cw_actions.SnsAction(topic)
    builder = {
        "plain_l2": _plain_l2,
        "event_fanout": _event_fanout,
        "solutions": _solutions,
        "event_fanout_sharded": _event_fanout_sharded,
    }
    builder[variant](stack, consumers, action)
    return app


def _function(scope: Any, name: str) -> Any:
    from aws_cdk import Duration
    from aws_cdk import aws_lambda as lambda_

    return lambda_.Function(
        scope,
        f"{name}Fn",
        runtime=lambda_.Runtime.PYTHON_3_14,
        architecture=lambda_.Architecture.ARM_64,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        timeout=Duration.seconds(30),
    )


def _event_fanout(stack: Any, consumers: int, action: Any) -> None:
    """Every consumer in the one stack, like the other arms (filled up to 300 consumers).

    Past 450 resources only the filling placement (``allow_consumer_moves=True``) builds one
    oversized template; the stable default refuses it at synth, as CloudFormation would.
    """
    from aws_cdk import aws_events as events

    from event_fanout import EventFanout

    fanout = EventFanout(
        stack,
        "Fanout",
        event_bus_name="bench",
        alarm_actions=[action],
        consumers_per_stack=300,
        allow_consumer_moves=True,
    )
    for i in range(consumers):
        name = f"Consumer{i}"
        fanout.add_consumer(
            name,
            handler=_function(stack, name),
            event_pattern=events.EventPattern(source=["bench"], detail_type=[name]),
        )


def _event_fanout_sharded(stack: Any, consumers: int, action: Any) -> None:
    """A large fan-out as the library asks for it: handler factories, ``shards`` nested stacks."""
    from aws_cdk import aws_events as events

    from event_fanout import EventFanout

    fanout = EventFanout(
        stack,
        "Fanout",
        event_bus_name="bench",
        alarm_actions=[action],
        shards=max(1, math.ceil(consumers / 15)),
    )
    for i in range(consumers):
        name = f"Consumer{i}"
        fanout.add_consumer(
            name,
            handler=lambda scope, name=name: _function(scope, name),
            event_pattern=events.EventPattern(source=["bench"], detail_type=[name]),
        )


#: The runtime layer's staged directory, handed to the workers so the hand-wired arms ship the
#: same asset without importing this library (whose import would count in their app time).
LAYER_DIR_ENV = "SYNTH_BENCH_RUNTIME_LAYER_DIR"


def _runtime_layer_dir() -> str:
    staged = os.environ.get(LAYER_DIR_ENV)
    if staged:
        return staged
    from event_fanout.constructs.runtime_layer import _staged_layer_dir

    return _staged_layer_dir()


class _Shared:
    """What the hand-wired arms create once per fan-out (bus, archive, undeliverable queue)."""

    def __init__(self, stack: Any, action: Any) -> None:
        from aws_cdk import Duration
        from aws_cdk import aws_events as events
        from aws_cdk import aws_lambda as lambda_
        from aws_cdk import aws_sqs as sqs

        self.action = action
        self.bus = events.EventBus(stack, "Bus", event_bus_name="bench")
        events.Archive(
            stack,
            "Archive",
            source_event_bus=self.bus,
            event_pattern=events.EventPattern(account=[stack.account]),
            retention=Duration.days(30),
        )
        self.undeliverable = sqs.Queue(
            stack,
            "UndeliverableEvents",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.alarm(
            stack,
            "UndeliverableDepth",
            self.undeliverable.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            1,
        )
        self.runtime_layer = lambda_.LayerVersion(
            stack,
            "RuntimeLayer",
            code=lambda_.Code.from_asset(_runtime_layer_dir()),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_14],
        )

    def alarm(self, scope: Any, name: str, metric: Any, threshold: float) -> None:
        from aws_cdk import aws_cloudwatch as cloudwatch

        alarm = cloudwatch.Alarm(
            scope,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self.action)
        alarm.add_ok_action(self.action)

    def finish_consumer(self, scope: Any, fn: Any, queue: Any, dlq: Any, rule: Any) -> None:
        """Table, environment, layers and alarms: identical in both hand-wired arms."""
        from aws_cdk import Aws, Duration, RemovalPolicy
        from aws_cdk import aws_cloudwatch as cloudwatch
        from aws_cdk import aws_dynamodb as dynamodb
        from aws_cdk import aws_lambda as lambda_

        table = dynamodb.Table(
            scope,
            "IdempotencyTable",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        table.grant_read_write_data(fn)
        fn.add_environment("IDEMPOTENCY_TABLE_NAME", table.table_name)
        fn.add_environment("IDEMPOTENCY_KEY_PATH", "id")
        fn.add_environment("POWERTOOLS_SERVICE_NAME", scope.node.id)
        fn.add_layers(
            lambda_.LayerVersion.from_layer_version_arn(
                scope,
                "Powertools",
                f"arn:{Aws.PARTITION}:lambda:eu-west-1:017000801446:layer:"
                "AWSLambdaPowertoolsPythonV3-python314-arm64:38",
            ),
            self.runtime_layer,
        )
        minute, five = Duration.minutes(1), Duration.minutes(5)
        self.alarm(
            scope,
            "DlqDepth",
            dlq.metric_approximate_number_of_messages_visible(period=minute, statistic="Maximum"),
            1,
        )
        self.alarm(
            scope,
            "OldestAge",
            queue.metric_approximate_age_of_oldest_message(period=minute, statistic="Maximum"),
            300,
        )
        self.alarm(scope, "Errors", fn.metric_errors(period=five, statistic="Sum"), 1)
        self.alarm(scope, "Throttles", fn.metric_throttles(period=five, statistic="Sum"), 1)
        failed = cloudwatch.Metric(
            namespace="AWS/Events",
            metric_name="FailedInvocations",
            dimensions_map={"EventBusName": self.bus.event_bus_name, "RuleName": rule.rule_name},
            period=five,
            statistic="Sum",
        )
        self.alarm(scope, "RuleFailed", failed, 1)


def _plain_l2(stack: Any, consumers: int, action: Any) -> None:
    from aws_cdk import Duration
    from aws_cdk import aws_events as events
    from aws_cdk import aws_events_targets as targets
    from aws_cdk import aws_lambda_event_sources as sources
    from aws_cdk import aws_sqs as sqs
    from constructs import Construct

    shared = _Shared(stack, action)
    for i in range(consumers):
        name = f"Consumer{i}"
        fn = _function(stack, name)
        scope = Construct(stack, name)
        queue_name = f"bench-{name}"
        dlq = sqs.Queue(
            scope,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            redrive_allow_policy=sqs.RedriveAllowPolicy(
                redrive_permission=sqs.RedrivePermission.BY_QUEUE,
                source_queues=[
                    sqs.Queue.from_queue_arn(
                        scope, "SourceRef", stack.format_arn(service="sqs", resource=queue_name)
                    )
                ],
            ),
        )
        queue = sqs.Queue(
            scope,
            "Queue",
            queue_name=queue_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(4),
            visibility_timeout=Duration.seconds(180),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=5),
        )
        rule = events.Rule(
            scope,
            "Rule",
            event_bus=shared.bus,
            event_pattern=events.EventPattern(source=["bench"], detail_type=[name]),
            targets=[
                targets.SqsQueue(
                    queue,
                    dead_letter_queue=shared.undeliverable,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )
        fn.add_event_source(
            sources.SqsEventSource(queue, batch_size=10, report_batch_item_failures=True)
        )
        shared.finish_consumer(scope, fn, queue, dlq, rule)


def _solutions(stack: Any, consumers: int, action: Any) -> None:
    from aws_cdk import Duration
    from aws_cdk import aws_events as events
    from aws_cdk import aws_events_targets as targets
    from aws_cdk import aws_lambda_event_sources as sources
    from aws_cdk import aws_sqs as sqs
    from aws_solutions_constructs.aws_eventbridge_sqs import (  # type: ignore[import-not-found]
        EventbridgeToSqs,
    )
    from aws_solutions_constructs.aws_sqs_lambda import (  # type: ignore[import-not-found]
        SqsToLambda,
    )
    from constructs import Construct

    shared = _Shared(stack, action)
    for i in range(consumers):
        name = f"Consumer{i}"
        fn = _function(stack, name)
        scope = Construct(stack, name)
        queue_name = f"bench-{name}"
        to_sqs = EventbridgeToSqs(
            scope,
            "EventbridgeToSqs",
            existing_event_bus_interface=shared.bus,
            event_rule_props=events.RuleProps(
                event_pattern=events.EventPattern(source=["bench"], detail_type=[name])
            ),
            enable_encryption_with_customer_managed_key=False,
            queue_props=sqs.QueueProps(
                queue_name=queue_name,
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                retention_period=Duration.days(4),
                visibility_timeout=Duration.seconds(180),
            ),
            dead_letter_queue_props=sqs.QueueProps(
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                retention_period=Duration.days(14),
            ),
            max_receive_count=5,
            target_props=targets.SqsQueueProps(
                dead_letter_queue=shared.undeliverable,
                retry_attempts=185,
                max_event_age=Duration.hours(24),
            ),
        )
        SqsToLambda(
            scope,
            "SqsToLambda",
            existing_lambda_obj=fn,
            existing_queue_obj=to_sqs.sqs_queue,
            deploy_dead_letter_queue=False,
            sqs_event_source_props=sources.SqsEventSourceProps(
                batch_size=10, report_batch_item_failures=True
            ),
        )
        dlq = to_sqs.dead_letter_queue.queue
        # Solutions Constructs set no redrive-allow policy on the DLQ: add it as plain L2 does.
        dlq_cfn = dlq.node.default_child
        dlq_cfn.add_property_override(
            "RedriveAllowPolicy",
            {
                "redrivePermission": "byQueue",
                # Named like plain L2's: a Ref to the queue would be a circular dependency.
                "sourceQueueArns": [stack.format_arn(service="sqs", resource=queue_name)],
            },
        )
        shared.finish_consumer(scope, fn, to_sqs.sqs_queue, dlq, to_sqs.events_rule)


def _preimport(variant: str) -> None:
    """Load the jsii kernel and every Python module before the build-and-synth clock starts.

    Importing aws_cdk's generated modules costs seconds and is the same for every arm; the
    build-and-synth figure isolates the cost of building and synthesizing the constructs. The
    arm's own library (this one, or Solutions Constructs' three jsii assemblies) is imported
    here too: that cost differs between arms and is in the whole-app figure, which the driver
    times from the moment it starts this process.
    """
    import importlib

    modules = [
        "aws_cdk",
        "aws_cdk.aws_cloudwatch",
        "aws_cdk.aws_cloudwatch_actions",
        "aws_cdk.aws_dynamodb",
        "aws_cdk.aws_events",
        "aws_cdk.aws_events_targets",
        "aws_cdk.aws_iam",
        "aws_cdk.aws_kms",
        "aws_cdk.aws_lambda",
        "aws_cdk.aws_lambda_event_sources",
        "aws_cdk.aws_sns",
        "aws_cdk.aws_sqs",
        "constructs",
    ]
    if variant.startswith("event_fanout"):
        modules.append("event_fanout.constructs")
    if variant == "solutions":
        modules += [
            "aws_solutions_constructs.aws_eventbridge_sqs",
            "aws_solutions_constructs.aws_sqs_lambda",
        ]
    for module in modules:
        importlib.import_module(module)


def _cpu_seconds() -> float:
    """CPU time of this process and every live descendant (the jsii kernel's Node processes).

    Wall time on a shared machine swings with other people's load; CPU time does much less.
    Linux only (reads /proc); elsewhere it is this process's CPU time alone.
    """
    total = time.process_time()
    proc = Path("/proc")
    if not proc.is_dir():
        return total
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    mine = {os.getpid()}
    changed = True
    while changed:
        found = {pid for pid, parent in parents.items() if parent in mine} - mine
        changed = bool(found)
        mine |= found
    return total + sum(cpu[pid] for pid in mine if pid != os.getpid())


class _RequestCounter:
    """Counts requests to the jsii kernel (``_NodeProcess.send``: callback answers included)."""

    def __init__(self) -> None:
        from jsii._kernel.providers import process

        self.count = 0
        original = process._NodeProcess.send

        def send(node: Any, request: Any, response_type: Any) -> Any:
            self.count += 1
            return original(node, request, response_type)

        process._NodeProcess.send = send  # type: ignore[assignment]


def _worker(variant: str, consumers: int, count_requests: bool = False) -> None:
    """Time one build + synth in this (fresh) process and print the figures as JSON."""
    _preimport(variant)
    counter = _RequestCounter() if count_requests else None
    requests: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="synth-bench-") as outdir:
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        app = _construct(variant, consumers, outdir)
        build_s = time.perf_counter() - start
        if counter:
            requests["requests_build"] = counter.count
        assembly = app.synth()
        synth_s = time.perf_counter() - start
        if counter:
            requests["requests_synth"] = counter.count - requests["requests_build"]
        synth_end = time.time()
        app_cpu_s = _cpu_seconds()
        cpu_s = app_cpu_s - cpu_start
        resources = 0
        template_bytes = 0
        max_resources = 0
        templates = 0
        for path in Path(outdir).glob("*.template.json"):
            template = json.loads(path.read_text())
            count = len(template.get("Resources", {}))
            resources += count
            max_resources = max(max_resources, count)
            template_bytes += path.stat().st_size
            templates += 1
        del assembly
    print(
        json.dumps(
            {
                "synth_s": synth_s,
                "build_s": build_s,
                "cpu_s": cpu_s,
                "app_cpu_s": app_cpu_s,
                "synth_end": synth_end,
                "resources": resources,
                "template_bytes": template_bytes,
                "max_resources": max_resources,
                "templates": templates,
                **requests,
            }
        )
    )


# -- the driver -----------------------------------------------------------------------------------


def _ensure_solutions(site: Path) -> bool:
    if (site / "aws_solutions_constructs").is_dir():
        return True
    print(f"installing Solutions Constructs {SOLUTIONS_VERSION} (--no-deps) into {site} ...")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            *SOLUTIONS_PACKAGES,
        ],
        check=False,
    )
    return result.returncode == 0


def _measure(
    variant: str, consumers: int, site: Path, count_requests: bool = False
) -> dict[str, float]:
    env = {**os.environ, **ENV_VARS}
    if variant == "solutions":
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    started = time.time()  # compared with the worker's clock: the same system clock
    result = subprocess.run(
        [sys.executable, __file__, "--worker", variant, str(consumers)]
        + (["--count-requests"] if count_requests else []),
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{variant} N={consumers} failed:\n{result.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    # What `cdk synth` waits for: interpreter start, imports, jsii kernel, build, synth.
    figures["app_s"] = figures.pop("synth_end") - started
    return figures


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "n/a"


def _table(
    results: dict[tuple[str, int], list[dict[str, float]]], sizes: list[int], variants: list[str]
) -> str:
    lines = [
        "| N | arm | synth s (median) | vs L2 | CPU s (median) | vs L2 | whole app s (median) "
        "| vs L2 | resources | per consumer | vs L2 | largest template | template KB | vs L2 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        base = {
            k: statistics.median(r[k] for r in results[("plain_l2", n)])
            for k in ("synth_s", "cpu_s", "app_s", "resources", "template_bytes")
        }
        for variant in variants:
            runs = results.get((variant, n))
            if not runs:
                continue
            synth = statistics.median(r["synth_s"] for r in runs)
            cpu = statistics.median(r["cpu_s"] for r in runs)
            app = statistics.median(r["app_s"] for r in runs)
            resources = runs[0]["resources"]
            size = runs[0]["template_bytes"]
            lines.append(
                f"| {n} | {LABELS[variant]} | {synth:.2f} | {_ratio(synth, base['synth_s'])} "
                f"| {cpu:.2f} | {_ratio(cpu, base['cpu_s'])} "
                f"| {app:.2f} | {_ratio(app, base['app_s'])} "
                f"| {resources:.0f} | {resources / n:.1f} "
                f"| {_ratio(resources, base['resources'])} "
                f"| {_largest(runs[0])} | {size / 1024:.0f} "
                f"| {_ratio(size, base['template_bytes'])} |"
            )
    return "\n".join(lines)


#: What the paired table compares: build + synth (imports excluded) in wall and CPU time, and
#: the whole app process as `cdk synth` runs it (imports of each arm's library included).
PAIRED_MEASURES = (
    ("synth_s", "build + synth, wall"),
    ("cpu_s", "build + synth, CPU"),
    ("app_s", "whole app, wall"),
    ("app_cpu_s", "whole app, CPU"),
)


def _paired_table(
    results: dict[tuple[str, int], list[dict[str, float]]], n: int, variants: list[str]
) -> str:
    """This library against each other arm, repetition by repetition, at one N.

    A ratio of medians hides how often the order flips: on a shared machine one arm's
    repetitions spread by a third. Each repetition runs the arms back to back, so the ratio
    within a repetition, its spread and how many repetitions this library won say whether a
    difference of a few per cent is one at all; CPU time, which other load moves less, says it
    for the work itself.
    """
    lines = [
        "| N | per repetition | measure | median ratio | 95 % interval | range "
        "| this library faster |",
        "|---|---|---|---|---|---|---|",
    ]
    ours = [v for v in ("event_fanout", "event_fanout_sharded") if (v, n) in results]
    others = [v for v in ("plain_l2", "solutions") if v in variants and (v, n) in results]
    for mine in ours:
        for other in others:
            for key, measure in PAIRED_MEASURES:
                ratios = [
                    a[key] / b[key]
                    for a, b in zip(results[(mine, n)], results[(other, n)], strict=True)
                ]
                lines.append(
                    f"| {n} | {LABELS[mine]} / {LABELS[other]} | {measure} "
                    f"| {_paired_cells(ratios)} |"
                )
    return "\n".join(lines)


def _paired_cells(ratios: list[float]) -> str:
    won = sum(ratio < 1 for ratio in ratios)
    low, high = _median_interval(ratios)
    return (
        f"{statistics.median(ratios):.2f}x | {low:.2f}-{high:.2f}x "
        f"| {min(ratios):.2f}-{max(ratios):.2f}x | {won} of {len(ratios)}"
    )


def _median_interval(
    values: list[float], confidence: float = 0.95, resamples: int = 10_000
) -> tuple[float, float]:
    """Percentile-bootstrap interval of the median of ``values``.

    A median of a handful of repetitions moves by several per cent from run to run on a shared
    machine; "faster" needs the whole interval below 1.00x, not a point estimate that happens
    to land there. Seeded, so the same figures print the same interval.
    """
    if len(values) < 2:
        return (values[0], values[0]) if values else (float("nan"), float("nan"))
    rng = random.Random(0)
    medians = sorted(
        statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples)
    )
    tail = (1 - confidence) / 2
    return medians[int(tail * resamples)], medians[int((1 - tail) * resamples) - 1]


def _request_table(sizes: list[int], variants: list[str], site: Path) -> str:
    """Kernel requests per arm: a count, so one run each is enough."""
    lines = [
        "| N | arm | requests, build | per consumer | vs L2 | requests, synth | per consumer |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        base = 0.0
        for variant in variants:
            if variant == "event_fanout_sharded" and n < SHARDED_FROM:
                continue
            figures = _measure(variant, n, site, count_requests=True)
            build, synth = figures["requests_build"], figures["requests_synth"]
            if variant == "plain_l2":  # the first arm
                base = build
            lines.append(
                f"| {n} | {LABELS[variant]} | {build:.0f} | {build / n:.1f} "
                f"| {_ratio(build, base)} | {synth:.0f} | {synth / n:.1f} |"
            )
    return "\n".join(lines)


def _largest(figures: dict[str, float]) -> str:
    """Resources of the largest template, and how many templates there are."""
    largest = int(figures["max_resources"])
    note = " (over 500: not deployable)" if largest > 500 else ""
    return f"{largest} in {int(figures['templates'])} template(s){note}"


#: scripts/test.sh's worker options.
TEST_WORKERS = ("-n", "auto", "--maxprocesses", "4")


def _time_tests() -> float:
    """Wall time of the whole test suite (emulator tests included), as CI runs it after set-up."""
    start = time.perf_counter()
    result = subprocess.run(
        # What scripts/test.sh runs: one worker per core (tests/conftest.py groups them).
        [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider", *TEST_WORKERS],
        cwd=REPO_ROOT,
        env={**os.environ, **ENV_VARS},
        check=False,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        print(result.stdout[-3000:], file=sys.stderr)
        raise SystemExit(f"the test suite failed (exit {result.returncode}); no timing reported")
    return elapsed


def _time_local_deploy() -> tuple[float, float]:
    """Bootstrap, then deploy the reference stack into the local emulator (real CDK CLI)."""
    from event_fanout.local.cdk_cli import CdkApp, bootstrap
    from event_fanout.local.deploy import deploy
    from event_fanout.local.server import LocalAws
    from event_fanout.stacks.reference import REFERENCE_STACK

    os.environ.update(ENV_VARS)
    with LocalAws() as aws:
        # Own output directory: another CLI run in this checkout must not clash with ours.
        app = CdkApp(
            stack_name=REFERENCE_STACK, output_dir=Path(tempfile.mkdtemp(prefix="bench-cdk-out-"))
        )
        start = time.perf_counter()
        bootstrap(aws.environment, app)
        middle = time.perf_counter()
        deploy(aws.environment, app)
        return middle - start, time.perf_counter() - middle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N=1,10 and one repetition")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1, 10, 25, 50],
        help="consumer counts, e.g. 1,10,25,50",
    )
    parser.add_argument("--solutions-site", type=Path, default=Path("/tmp/bench-sc/site"))
    parser.add_argument(
        "--arms",
        type=lambda s: s.split(","),
        default=list(VARIANTS),
        help=f"arms to run, comma-separated (plain_l2 is always run: ratios are to it); "
        f"default {','.join(VARIANTS)}",
    )
    parser.add_argument("--with-tests", action="store_true", help="also time the test suite")
    parser.add_argument(
        "--with-local-deploy",
        action="store_true",
        help="also time bootstrap + deploy of the reference stack into the local emulator",
    )
    parser.add_argument(
        "--count-requests",
        action="store_true",
        help="count jsii kernel requests (one run per arm and N) instead of timing",
    )
    parser.add_argument(
        "--context",
        type=_context_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="context for every arm, on top of cdk.json's (repeatable), e.g. "
        "aws:cdk:disable-creation-stack-traces=true",
    )
    parser.add_argument("--worker", nargs=2, metavar=("VARIANT", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker[0], int(args.worker[1]), count_requests=args.count_requests)
        return
    if args.context:
        os.environ[EXTRA_CONTEXT_ENV] = json.dumps(dict(args.context))
    sizes, reps = ([1, 10], 1) if args.quick else (args.sizes, args.reps)
    unknown = sorted(set(args.arms) - set(VARIANTS))
    if unknown:
        parser.error(f"--arms: unknown {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    variants = [v for v in VARIANTS if v in args.arms or v == "plain_l2"]
    if "solutions" in variants and not _ensure_solutions(args.solutions_site):
        variants.remove("solutions")
    # Staged once here, so the hand-wired arms' processes need not import this library.
    os.environ.setdefault(LAYER_DIR_ENV, _runtime_layer_dir())
    if args.count_requests:
        print(_request_table(sizes, variants, args.solutions_site))
        return
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {reps} repetition(s), arms interleaved"
        + (f"; extra context {dict(args.context)}" if args.context else ""),
        flush=True,
    )
    for rep in range(reps):
        for n in sizes:
            order = variants[rep % len(variants) :] + variants[: rep % len(variants)]
            for variant in order:
                if variant == "event_fanout_sharded" and n < SHARDED_FROM:
                    continue
                figures = _measure(variant, n, args.solutions_site)
                results.setdefault((variant, n), []).append(figures)
                print(
                    f"  rep {rep + 1} N={n:>3} {LABELS[variant]:<21} "
                    f"synth {figures['synth_s']:.2f}s, whole app {figures['app_s']:.2f}s",
                    file=sys.stderr,
                    flush=True,
                )
    print(_table(results, sizes, variants))
    if reps > 1:
        print()
        print(_paired_table(results, max(sizes), variants))
    if args.with_tests:
        cores = os.cpu_count()
        print(f"\ntest suite (all of it, as scripts/test.sh runs it, {cores} cores): ", end="")
        print(f"{_time_tests():.1f} s wall")
    if args.with_local_deploy:
        boot, deployed = _time_local_deploy()
        print(f"\nreference stack, local emulator: bootstrap {boot:.1f} s, deploy {deployed:.1f} s")


if __name__ == "__main__":
    main()
