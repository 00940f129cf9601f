"""The two sides of a cross-account fan-out synthesize through the four cdk-nag packs.

Built as ``examples/cross_account/app.py`` builds them, with what a production team adds and
the example leaves out for brevity: alarms to an encrypted topic on both sides, and a consumer
function with the reference stack's settings (the packs judge a user's function, too).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from event_fanout import CentralBus, EventFanout, EventForwarder
from event_fanout.app_factory import add_nag_packs
from event_fanout.stacks.campaign_budget_stack import HANDLERS_DIR
from event_fanout.stacks.consumer_function import consumer_function, logs_key
from tests.builders import new_app
from tests.library.test_cross_account import EXAMPLE


def _alarm_action(scope: Construct) -> cloudwatch_actions.SnsAction:
    key = kms.Key(scope, "AlarmKey", enable_key_rotation=True)
    key.grant(
        iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey"
    )
    return cloudwatch_actions.SnsAction(
        sns.Topic(scope, "Alarms", master_key=key, enforce_ssl=True)
    )


def test_both_sides_pass_the_four_nag_packs() -> None:
    app = new_app()
    add_nag_packs(app)
    central = Stack(app, "Central", env=EXAMPLE.CENTRAL)
    EventForwarder(
        central,
        "ToBilling",
        event_bus=events.EventBus(central, "Bus", event_bus_name=EXAMPLE.CENTRAL_BUS),
        target_bus_arn=EXAMPLE.BILLING_BUS_ARN,
        rule_name=EXAMPLE.FORWARDING_RULE,
        event_pattern=EXAMPLE.ORDER_PLACED,
        alarm_actions=[_alarm_action(central)],
    )
    team = Stack(app, "Billing", env=EXAMPLE.BILLING)
    fanout = EventFanout(
        team,
        "Billing",
        event_bus_name=EXAMPLE.BILLING_BUS,
        alarm_actions=[_alarm_action(team)],
        receive_from=[
            CentralBus(
                EXAMPLE.CENTRAL_BUS_ARN,
                rule_names=[EXAMPLE.FORWARDING_RULE],
                organization_id=EXAMPLE.ORGANIZATION,
            )
        ],
    )
    fanout.add_consumer(
        "Invoicing",
        handler=consumer_function(
            team,
            "InvoicingFunction",
            handler="audit_log.handler",
            code_dir=HANDLERS_DIR,
            environment={"AUDIT_TABLE_NAME": "unused"},
            log_key=logs_key(team),
        ),
        event_pattern=EXAMPLE.ORDER_PLACED,
    )
    # Synthesis raises ValidationFailed on any unacknowledged finding of the packs.
    assembly = app.synth()
    assert {s.stack_name for s in assembly.stacks} == {"Central", "Billing"}
