"""Two accounts: a central bus forwards the billing team its events, to the team's own bus.

``Central`` deploys to the central events account (111111111111) and ``Billing`` to the billing
team's (222222222222). They share names and ARNs only, no cross-stack reference: each team
deploys its own stack from its own pipeline.

- Central: the organisation's bus, and an ``EventForwarder`` rule named ``billing-forward``
  that sends ``shop.orders`` / ``OrderPlaced`` to the billing team's bus.
- Billing: an ``EventFanout`` on the team's bus ``billing-events``, admitting events sent by
  that rule only (and from the organisation), with its consumer as any other.

Synthesize it with ``npx cdk synth --app "python examples/cross_account/app.py"``.
"""

from __future__ import annotations

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from event_fanout import CentralBus, EventFanout, EventForwarder

REGION = "eu-west-1"
CENTRAL = Environment(account="111111111111", region=REGION)
BILLING = Environment(account="222222222222", region=REGION)
ORGANIZATION = "o-a1b2c3d4e5"
CENTRAL_BUS = "org-events"
BILLING_BUS = "billing-events"
FORWARDING_RULE = "billing-forward"

CENTRAL_BUS_ARN = f"arn:aws:events:{REGION}:{CENTRAL.account}:event-bus/{CENTRAL_BUS}"
BILLING_BUS_ARN = f"arn:aws:events:{REGION}:{BILLING.account}:event-bus/{BILLING_BUS}"
ORDER_PLACED = events.EventPattern(source=["shop.orders"], detail_type=["OrderPlaced"])


class CentralStack(Stack):
    """The central events account: the bus every service publishes to, and the forwarding."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.bus = events.EventBus(self, "Bus", event_bus_name=CENTRAL_BUS)
        self.forwarder = EventForwarder(
            self,
            "ToBilling",
            event_bus=self.bus,
            target_bus_arn=BILLING_BUS_ARN,
            rule_name=FORWARDING_RULE,
            event_pattern=ORDER_PLACED,
        )


class BillingStack(Stack):
    """The billing team's account: its own fan-out, fed by the central bus's forwarding rule."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.fanout = EventFanout(
            self,
            "Billing",
            event_bus_name=BILLING_BUS,
            receive_from=[
                CentralBus(
                    event_bus_arn=CENTRAL_BUS_ARN,
                    rule_names=[FORWARDING_RULE],
                    organization_id=ORGANIZATION,
                )
            ],
        )
        self.fanout.add_consumer(
            "Invoicing",
            handler=lambda_.Function(
                self,
                "InvoicingFn",
                runtime=lambda_.Runtime.PYTHON_3_12,
                handler="index.handler",
                code=lambda_.Code.from_inline("def handler(event, context):\n    return {}\n"),
            ),
            event_pattern=ORDER_PLACED,
            idempotency=None,
            attach_runtime_layers=False,
        )


def build(app: App) -> tuple[CentralStack, BillingStack]:
    """Both stacks, each in its own account."""
    return CentralStack(app, "Central", env=CENTRAL), BillingStack(app, "Billing", env=BILLING)


if __name__ == "__main__":
    app = App()
    build(app)
    app.synth()
