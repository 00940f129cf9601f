"""One FIFO consumer of ``fifo.poison`` events, for tests/local/test_fifo_poison.py."""

import os
from pathlib import Path

from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_

from event_fanout import EventFanout

STACK_NAME = "EventFanoutFifoPoison"
BUS_NAME = "fifo-poison"
MAX_RECEIVE_COUNT = 3

app = App(builtin_cloud_formation_validation=False)
stack = Stack(
    app,
    STACK_NAME,
    env=Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
    ),
)
effects = dynamodb.Table(
    stack,
    "Effects",
    partition_key=dynamodb.Attribute(name="effectKey", type=dynamodb.AttributeType.STRING),
    billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
    removal_policy=RemovalPolicy.DESTROY,
)
function = lambda_.Function(
    stack,
    "StepsFunction",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="steps.handler",
    code=lambda_.Code.from_asset(str(Path(__file__).parent / "fifo_handler")),
    timeout=Duration.seconds(5),
    environment={"EFFECTS_TABLE_NAME": effects.table_name},
)
effects.grant_read_write_data(function)
fanout = EventFanout(
    stack,
    "Fanout",
    event_bus_name=BUS_NAME,
    archive_retention=None,
    removal_policy=RemovalPolicy.DESTROY,
)
fanout.add_consumer(
    "Steps",
    handler=function,
    event_pattern=events.EventPattern(source=["fifo.poison"]),
    fifo=True,
    message_group_id="steps",
    max_receive_count=MAX_RECEIVE_COUNT,
)
app.synth()
