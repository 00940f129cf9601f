"""A small stack with every resource type the fan-out deploys, for the moto compatibility tests.

Bus + archive, a rule routing to a queue with a DLQ (max 2 receives) and the queue policy the
target adds, an alarm on the DLQ and a composite alarm over it, a table, and a Python function
(asset) with an SQS event source mapping. Independent of the library's constructs, so the compat
fixes are tested on their own.
"""

import os
from pathlib import Path

from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs

STACK_NAME = "EventFanoutCompatTest"
BUS_NAME = "compat-bus"


class CompatTestStack(Stack):
    def __init__(self, scope: App, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        bus = events.EventBus(self, "Bus", event_bus_name=BUS_NAME)
        events.Archive(
            self,
            "Archive",
            source_event_bus=bus,
            event_pattern=events.EventPattern(account=[self.account]),
            retention=Duration.days(1),
        )
        dlq = sqs.Queue(self, "DeadLetterQueue", encryption=sqs.QueueEncryption.SQS_MANAGED)
        queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(30),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=2),
        )
        events.Rule(
            self,
            "Rule",
            event_bus=bus,
            event_pattern=events.EventPattern(
                source=["compat.test"], detail={"amount": events.Match.greater_than(10)}
            ),
            targets=[targets.SqsQueue(queue)],
        )
        dead_letters = cloudwatch.Alarm(
            self,
            "DeadLetterAlarm",
            metric=dlq.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        cloudwatch.CompositeAlarm(
            self,
            "TroubleAlarm",
            alarm_rule=cloudwatch.AlarmRule.any_of(dead_letters),
            alarm_description="any alarm of the stack",
        )
        table = dynamodb.Table(
            self,
            "Effects",
            partition_key=dynamodb.Attribute(name="eventId", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            removal_policy=RemovalPolicy.DESTROY,
        )
        function = lambda_.Function(
            self,
            "Consumer",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="consumer.handler",
            code=lambda_.Code.from_asset(str(Path(__file__).parent / "mini_handler")),
            timeout=Duration.seconds(5),
            environment={"EFFECTS_TABLE_NAME": table.table_name},
        )
        table.grant_read_write_data(function)
        function.add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=4,
                max_batching_window=Duration.seconds(1),
                max_concurrency=2,
                report_batch_item_failures=True,
            )
        )


class BrokenStack(Stack):
    """A queue name CloudFormation rejects: what a failed deploy looks like to the CLI user."""

    def __init__(self, scope: App, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        sqs.CfnQueue(self, "BadlyNamedQueue", queue_name="not a valid name!")


# CDK's template validation is off: this app tests the emulator, not the template (the reference
# stack's CLI deploys keep it on), and it would cost more than the rest of this synth.
app = App(builtin_cloud_formation_validation=False)
stack_class = BrokenStack if os.environ.get("COMPAT_BROKEN") == "1" else CompatTestStack
stack_class(
    app,
    os.environ.get("COMPAT_STACK_NAME", STACK_NAME),
    env=Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")
    ),
)
app.synth()
