"""A fan-out too large for one CloudFormation stack, for ``benchmarks/large_local_deploy.py``.

The CDK CLI runs it (``cdk deploy --app "python benchmarks/large_fanout_app.py"``): one stack,
``LargeFanout``, holding an :class:`~event_fanout.EventFanout` with ``LARGE_FANOUT_CONSUMERS``
consumers (default 120) on the bus ``large-fanout``, spread over ``shards_for(consumers)`` nested
stacks (``ConsumersShard1``, ``2``, ...) by a stable hash of their ids. Each handler is a factory
building an inline Python function, so each function is created in its consumer's shard.
Consumer ``i`` receives the events of source ``large.fanout`` whose detail type is ``Type<i>``.
"""

from __future__ import annotations

import math
import os

from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from event_fanout import EventFanout

STACK_NAME = "LargeFanout"
BUS_NAME = "large-fanout"
EVENT_SOURCE = "large.fanout"
CONSUMERS_VARIABLE = "LARGE_FANOUT_CONSUMERS"
DEFAULT_CONSUMERS = 120


#: Consumers per shard on average: a hash spreads them unevenly (the fullest of 8 shards holds
#: 19 of 120), and about 21 resources each must stay within the 450-resource budget.
CONSUMERS_PER_SHARD = 15


def shards_for(consumers: int) -> int:
    """How many nested stacks ``consumers`` consumers are spread over."""
    return max(1, math.ceil(consumers / CONSUMERS_PER_SHARD))


def consumer_id(index: int) -> str:
    """The construct id of consumer ``index`` (it names the consumer's queues)."""
    return f"Consumer{index}"


def detail_type(index: int) -> str:
    """The detail type consumer ``index`` subscribes to."""
    return f"Type{index}"


def handler_factory(scope: Construct) -> lambda_.Function:
    """An inline function built in the consumer's stack (it moves into a shard with it)."""
    return lambda_.Function(
        scope,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_14,
        architecture=lambda_.Architecture.ARM_64,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        timeout=Duration.seconds(30),
    )


def build(app: App, consumers: int) -> EventFanout:
    """The ``LargeFanout`` stack with ``consumers`` consumers; return its fan-out."""
    stack = Stack(
        app,
        STACK_NAME,
        env=Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
    )
    topic = sns.Topic(stack, "Alarms")
    fanout = EventFanout(
        stack,
        "Fanout",
        event_bus_name=BUS_NAME,
        alarm_actions=[cw_actions.SnsAction(topic)],
        shards=shards_for(consumers),
    )
    for index in range(consumers):
        fanout.add_consumer(
            consumer_id(index),
            handler=handler_factory,
            event_pattern=events.EventPattern(
                source=[EVENT_SOURCE], detail_type=[detail_type(index)]
            ),
        )
    return fanout


def main() -> None:
    """Synthesize the app into the directory the CLI names (``CDK_OUTDIR``)."""
    # CDK's built-in CloudFormation validation (its JSON-schema check of every resource) is
    # off: with 120 consumers it roughly doubles the synth time and adds nothing here, since
    # the deploy itself and tests/scale/test_sharding.py (cfn-lint) check these templates.
    app = App(builtin_cloud_formation_validation=False)
    build(app, int(os.environ.get(CONSUMERS_VARIABLE, DEFAULT_CONSUMERS)))
    app.synth()


if __name__ == "__main__":
    main()
