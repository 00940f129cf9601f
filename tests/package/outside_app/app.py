"""A platform team's own CDK app, written as the README tells it to: two stacks, one bus.

``Orders`` owns the fan-out (three Python consumers: one FIFO, one under a customer-managed
key); ``Billing`` imports the bus by name and adds a fan-out of its own on it.
"""

from pathlib import Path

from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from event_fanout import EventFanout, Idempotency

HANDLERS = str(Path(__file__).parent / "handlers")
ENV = Environment(account="123456789012", region="eu-west-1")
ORDERS = events.EventPattern(source=["shop.orders"])


def function(scope: Construct, construct_id: str) -> lambda_.Function:
    return lambda_.Function(
        scope,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="orders.handler",
        code=lambda_.Code.from_asset(HANDLERS),
        timeout=Duration.seconds(30),
    )


app = App()
orders = Stack(app, "Orders", env=ENV)
fanout = EventFanout(orders, "Orders", event_bus_name="shop-orders")
fanout.add_consumer("Invoicing", handler=function(orders, "InvoicingFn"), event_pattern=ORDERS)
fanout.add_consumer(
    "Shipping",
    handler=function(orders, "ShippingFn"),
    event_pattern=ORDERS,
    fifo=True,
    message_group_id="orders",
    idempotency=Idempotency(key_path="detail.orderId"),
)
fanout.add_consumer(
    "Audit",
    handler=function(orders, "AuditFn"),
    event_pattern=ORDERS,
    encryption=sqs.QueueEncryption.KMS,
    encryption_key=kms.Key(orders, "AuditKey", enable_key_rotation=True),
)

billing = Stack(app, "Billing", env=ENV)
bus = events.EventBus.from_event_bus_name(billing, "ShopOrders", "shop-orders")
EventFanout(billing, "Billing", event_bus=bus, archive_retention=None).add_consumer(
    "Ledger", handler=function(billing, "LedgerFn"), event_pattern=ORDERS
)
billing.add_dependency(orders)
app.synth()
