"""The fan-out ``benchmarks/fault_run.py`` deploys: one standard and one FIFO consumer of orders.

The CDK CLI runs it (``cdk deploy --app "python benchmarks/fault_app.py"``): one stack,
``EventFanoutFaultRun``, with an :class:`~event_fanout.EventFanout` on the bus ``fault-run``
and two consumers of every ``fault.orders`` / ``OrderPlaced`` event:

- ``Orders``, a standard queue;
- ``OrdersFifo``, a FIFO queue (one message group, as EventBridge's FIFO target allows), where
  a poison record holds back the healthy records of its group until it is dead-lettered.

Both run the same handler (``benchmarks/fault_handler/orders.py``) and write to one effects
table, and both key idempotency on the business key ``detail.orderId``: a producer that
publishes the same order twice makes two events with two EventBridge ids, and only a business
key recognises the second one.

The functions' timeout is short (3 s) on purpose: an invocation killed mid-batch leaves its
idempotency records IN_PROGRESS until its time is up, and the fault run restarts the consumers
only once it is (Lambda could not have been running any longer either).
"""

from __future__ import annotations

import os
from pathlib import Path

from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

# Run as a script by the CDK CLI: benchmarks/ is on the path.
from fault_settings import (
    BUS_NAME,
    CONSUMERS,
    DETAIL_TYPE,
    EFFECT_KEY,
    EVENT_SOURCE,
    FIFO_GROUP,
    FUNCTION_TIMEOUT_SECONDS,
    MAX_RECEIVE_COUNT,
    STACK_NAME,
)

from event_fanout import EventFanout, Idempotency

HANDLER_DIR = Path(__file__).resolve().parent / "fault_handler"


def consumer_function(scope: Construct, consumer: str, table: dynamodb.Table) -> lambda_.Function:
    """The consumer's function: the shared handler code, told which consumer it is."""
    function = lambda_.Function(
        scope,
        f"{consumer}Function",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="orders.handler",
        code=lambda_.Code.from_asset(str(HANDLER_DIR), exclude=["__pycache__", "*.pyc"]),
        timeout=Duration.seconds(FUNCTION_TIMEOUT_SECONDS),
        environment={
            "EFFECTS_TABLE_NAME": table.table_name,
            "FAULT_CONSUMER": consumer,
            "FAULT_MAX_RECEIVE_COUNT": str(MAX_RECEIVE_COUNT),
        },
    )
    table.grant_read_write_data(function)
    return function


def build(app: App) -> Stack:
    """The ``EventFanoutFaultRun`` stack."""
    stack = Stack(
        app,
        STACK_NAME,
        env=Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
    )
    fanout = EventFanout(
        stack,
        "Fanout",
        event_bus_name=BUS_NAME,
        archive_retention=None,
        removal_policy=RemovalPolicy.DESTROY,
    )
    table = dynamodb.Table(
        stack,
        "Effects",
        partition_key=dynamodb.Attribute(name=EFFECT_KEY, type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        removal_policy=RemovalPolicy.DESTROY,
    )
    for consumer, fifo in CONSUMERS.items():
        fanout.add_consumer(
            consumer,
            handler=consumer_function(stack, consumer, table),
            event_pattern=events.EventPattern(source=[EVENT_SOURCE], detail_type=[DETAIL_TYPE]),
            batch_size=10,
            max_receive_count=MAX_RECEIVE_COUNT,
            fifo=fifo,
            message_group_id=FIFO_GROUP if fifo else None,
            idempotency=Idempotency(key_path="detail.orderId"),
        )
    return stack


def main() -> None:
    """Synthesize into the directory the CLI names (``CDK_OUTDIR``)."""
    # Template validation is for the reference stack's deploys; here it would only add synth time.
    app = App(builtin_cloud_formation_validation=False)
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
