"""The maximal configuration the security checks run on, besides the reference stack.

Every optional feature at once: an imported bus, a customer-managed key for the fan-out, a
consumer with a key of its own, a FIFO consumer, one idempotency table shared by all consumers,
and alarms to an encrypted topic.
"""

from __future__ import annotations

from aws_cdk import App, DefaultStackSynthesizer, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from event_fanout import EventFanout, Idempotency, IdempotencyTable
from event_fanout.app_factory import add_nag_packs
from event_fanout.stacks.campaign_budget_stack import HANDLERS_DIR
from event_fanout.stacks.consumer_function import consumer_function, logs_key
from tests.builders import ENV, new_app


class MaximalStack(Stack):
    """All options on: what a platform team's production fan-out looks like."""

    def __init__(self, scope: App, construct_id: str) -> None:
        super().__init__(
            scope,
            construct_id,
            env=ENV,
            synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
        )
        alarm_key = kms.Key(self, "AlarmKey", enable_key_rotation=True)
        alarm_key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey"
        )
        topic = sns.Topic(self, "Alarms", master_key=alarm_key, enforce_ssl=True)
        self.queue_key = kms.Key(self, "QueueKey", enable_key_rotation=True)
        self.shared_table = IdempotencyTable(
            self, "SharedIdempotency", encryption_key=self.queue_key
        )
        log_key = logs_key(self)
        bus = events.EventBus.from_event_bus_arn(
            self, "PlatformBus", "arn:aws:events:eu-west-1:123456789012:event-bus/platform"
        )
        self.fanout = EventFanout(
            self,
            "Platform",
            event_bus=bus,
            encryption_key=self.queue_key,
            alarm_actions=[cloudwatch_actions.SnsAction(topic)],
            removal_policy=RemovalPolicy.DESTROY,
        )
        shared = Idempotency(existing_table=self.shared_table.table)

        def function(name: str) -> object:
            return consumer_function(
                self,
                f"{name}Function",
                handler="audit_log.handler",
                code_dir=HANDLERS_DIR,
                environment={"AUDIT_TABLE_NAME": "unused"},
                log_key=log_key,
            )

        self.fanout.add_consumer(
            "Standard",
            handler=function("Standard"),
            event_pattern=events.EventPattern(source=["platform.orders"]),
            batch_size=100,
            max_batching_window=Duration.seconds(5),
            max_concurrency=10,
            idempotency=shared,
        )
        self.fanout.add_consumer(
            "Ordered",
            handler=function("Ordered"),
            event_pattern=events.EventPattern(source=["platform.ledger"]),
            fifo=True,
            message_group_id="ledger",
            max_concurrency=2,
            idempotency=shared,
        )
        self.fanout.add_consumer(
            "Isolated",
            handler=function("Isolated"),
            event_pattern=events.EventPattern(
                source=["platform.payments"], detail={"amount": events.Match.greater_than(0)}
            ),
            encryption=sqs.QueueEncryption.KMS,
            max_concurrency=5,
            idempotency=Idempotency(
                existing_table=self.shared_table.table, payload_validation_path="detail"
            ),
        )


def build_maximal() -> tuple[App, MaximalStack]:
    app = new_app()
    stack = MaximalStack(app, "Maximal")
    add_nag_packs(app)
    return app, stack
