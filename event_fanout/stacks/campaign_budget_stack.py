"""The reference stack: campaign budget changes fanned out to three independent consumers.

The scenario is the one that motivates the library: a budgeting service publishes
``CampaignBudgetChanged`` once; a reporting sync, an audit log and a notification worker each
consume it at their own pace, each assuming duplicates, late and out-of-order delivery.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from event_fanout.constructs.fanout import EventFanout
from event_fanout.constructs.options import Idempotency
from event_fanout.stacks.consumer_function import acknowledge, consumer_function, logs_key
from event_fanout.stacks.handlers.budget_events import BudgetChanged
from event_fanout.stacks.reference import EVENT_SOURCE, REFERENCE_BUS

HANDLERS_DIR = Path(__file__).parent / "handlers"
#: Budgets above this (account currency) are worth a notification.
DEFAULT_NOTIFICATION_THRESHOLD = 1000


class CampaignBudgetStack(Stack):
    """Bus ``ads-campaigns`` with the reporting-sync, audit-log and notification consumers.

    Attributes
    ----------
    fanout:
        The :class:`EventFanout`; ``fanout.consumers`` holds the three consumers by id.
    alarm_topic:
        SNS topic every alarm notifies (subscribe your pager or e-mail to it).
    budgets_table, audit_table, notifications_table:
        Where the consumers write their effects.

    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        notification_threshold: float = DEFAULT_NOTIFICATION_THRESHOLD,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.alarm_topic = self._alarm_topic()
        self.logs_key = logs_key(self)
        self.fanout = EventFanout(
            self,
            "Campaigns",
            event_bus_name=REFERENCE_BUS,
            archive_retention=Duration.days(30),
            alarm_actions=[cloudwatch_actions.SnsAction(self.alarm_topic)],
            # A demo stack: tear down cleanly. Production stacks keep the default (retain).
            removal_policy=RemovalPolicy.DESTROY,
        )

        self.budgets_table = self._effects_table("BudgetsTable", "campaignId")
        self.audit_table = self._effects_table("AuditTable", "eventId")
        self.notifications_table = self._effects_table("NotificationsTable", "notificationId")

        reporting = self._function(
            "ReportingSyncFunction",
            "reporting_sync.handler",
            "BUDGETS_TABLE_NAME",
            self.budgets_table,
        )
        self.fanout.add_consumer(
            "ReportingSync",
            handler=reporting,
            event_type=BudgetChanged,
            batch_size=10,
            max_batching_window=Duration.seconds(2),
            max_concurrency=5,
            # The seed's business key: one effect per campaign version, however often published.
            idempotency=Idempotency(key_path="[detail.campaignId, detail.version]"),
        )

        audit = self._function(
            "AuditLogFunction", "audit_log.handler", "AUDIT_TABLE_NAME", self.audit_table
        )
        self.fanout.add_consumer(
            "AuditLog",
            handler=audit,
            event_pattern=events.EventPattern(source=[EVENT_SOURCE]),
            batch_size=10,
            max_concurrency=5,
        )

        notification = self._function(
            "NotificationFunction",
            "notification.handler",
            "NOTIFICATIONS_TABLE_NAME",
            self.notifications_table,
        )
        self.fanout.add_consumer(
            "Notification",
            handler=notification,
            event_type=BudgetChanged,
            # Narrowed further: only the changes worth a notification.
            event_pattern=events.EventPattern(
                detail={"newBudget": events.Match.greater_than(notification_threshold)}
            ),
            batch_size=5,
            max_concurrency=2,
            max_message_age=Duration.minutes(2),
        )
        # The campaign service, outside this app, publishes the budget changes: declared so
        # `event-fanout contracts check` knows the version the consumers accept is published.
        self.fanout.add_producer("CampaignService", event_types=[BudgetChanged])

    def _alarm_topic(self) -> sns.Topic:
        """An encrypted topic CloudWatch can publish to.

        CloudWatch cannot use the AWS-managed ``alias/aws/sns`` key, so the topic gets its own
        key whose policy admits the CloudWatch service principal.
        """
        key = kms.Key(
            self,
            "AlarmTopicKey",
            enable_key_rotation=True,
            description="Encrypts the fan-out alarm topic",
            removal_policy=RemovalPolicy.DESTROY,
        )
        # Only this account's alarms may use the key (the confused-deputy conditions AWS
        # documents for service principals), not CloudWatch acting for anyone.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {
                        "aws:SourceArn": self.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        return sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)

    def _effects_table(self, construct_id: str, partition_key: str) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(
                name=partition_key, type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            table,
            {
                "DynamoDBInBackupPlan": (
                    "Point-in-time recovery (35 days, continuous) is on. The reference stack "
                    "adds no AWS Backup plan: production accounts select tables into their "
                    "organisation's backup plan by tag."
                )
            },
        )
        return table

    def _function(
        self, construct_id: str, handler: str, table_env: str, table: dynamodb.Table
    ) -> lambda_.Function:
        function = consumer_function(
            self,
            construct_id,
            handler=handler,
            code_dir=HANDLERS_DIR,
            environment={table_env: table.table_name},
            log_key=self.logs_key,
        )
        table.grant_read_write_data(function)
        return function
