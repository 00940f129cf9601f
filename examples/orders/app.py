"""An orders app built on cdk-event-fanout, outside the library: two stacks, four consumers.

``OrdersCore`` owns the bus and three consumers; with ``consumers_per_stack=2`` the third one
(``Audit``) lands in a nested stack. ``Shipping`` is FIFO. ``OrdersReporting``, a second stack,
adds a fan-out of its own on the core bus with one consumer, the way another team would.
"""

import os
from collections.abc import Callable
from pathlib import Path

from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from event_fanout import EventFanout

BUS_NAME = "orders"
CONSUMERS = Path(__file__).parent / "consumers"
ENV = Environment(
    account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
)
ORDER_PLACED = events.EventPattern(source=["shop.orders"], detail_type=["OrderPlaced"])


def consumer_function(handler: str) -> Callable[[Construct], lambda_.Function]:
    """A factory: each consumer's function is created in the stack its consumer is placed in."""

    def build(scope: Construct) -> lambda_.Function:
        return lambda_.Function(
            scope,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler=handler,
            code=lambda_.Code.from_asset(str(CONSUMERS)),
            timeout=Duration.seconds(10),
        )

    return build


class OrdersCore(Stack):
    """The bus (archived) and the core consumers of the orders domain."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id, env=ENV)
        self.fanout = EventFanout(
            self,
            "Orders",
            event_bus_name=BUS_NAME,
            consumers_per_stack=2,
            allow_consumer_moves=True,
            # One alarm to page on per stack: in ALARM while any consumer alarm is.
            trouble_alarm=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Billing dead-letters a bad order after 3 attempts, so someone looks at it soon.
        self.fanout.add_consumer(
            "Billing",
            handler=consumer_function("orders.billing"),
            event_pattern=ORDER_PLACED,
            max_receive_count=3,
        )
        self.fanout.add_consumer(
            "Shipping",
            handler=consumer_function("orders.shipping"),
            event_pattern=ORDER_PLACED,
            fifo=True,
            message_group_id="shipping",
        )
        self.fanout.add_consumer(
            "Audit",
            handler=consumer_function("orders.audit"),
            event_pattern=events.EventPattern(source=["shop.orders"]),
        )


class OrdersReporting(Stack):
    """Another team's consumers of the same bus, in a stack of their own."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id, env=ENV)
        bus = events.EventBus.from_event_bus_name(self, "CoreBus", BUS_NAME)
        fanout = EventFanout(
            self,
            "Reporting",
            event_bus=bus,
            archive_retention=None,
            removal_policy=RemovalPolicy.DESTROY,
        )
        fanout.add_consumer(
            "DailyTotals",
            handler=consumer_function("orders.daily_totals"),
            event_pattern=ORDER_PLACED,
        )


app = App()
core = OrdersCore(app, "OrdersCore")
reporting = OrdersReporting(app, "OrdersReporting")
reporting.node.add_dependency(core)  # the bus must exist before a rule is put on it
app.synth()
