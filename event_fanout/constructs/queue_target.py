"""An EventBridge rule target for a consumer queue whose permissions this library writes itself.

aws-events-targets' ``SqsQueue`` drops the ``aws:SourceArn`` condition from the queue policy as
soon as the queue has a KMS key (to dodge a dependency cycle, aws-cdk#11158), and grants
``events.amazonaws.com`` the key without condition: any rule in any account could then send. It
also adds one statement per rule to a shared dead-letter queue, and SQS allows 20 statements per
policy. This target only declares the target; :mod:`event_fanout.constructs.encryption` and the
consumer write scoped permissions (a rule ARN derived from the rule's name, so no cycle).
"""

from __future__ import annotations

import jsii
from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces import aws_events as events_refs


@jsii.implements(events.IRuleTarget)
class ConsumerQueueTarget:
    """Delivers matched events to ``queue``; undeliverable ones go to ``dead_letter_queue``."""

    def __init__(
        self,
        queue: sqs.IQueue,
        *,
        dead_letter_queue: sqs.IQueue,
        retry_attempts: int,
        max_event_age: Duration,
        message_group_id: str | None,
    ) -> None:
        self._queue = queue
        self._dead_letter_queue = dead_letter_queue
        self._retry_attempts = retry_attempts
        self._max_event_age = max_event_age
        self._message_group_id = message_group_id

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        """Return the target's CloudFormation shape; grants nothing (the consumer does)."""
        return events.RuleTargetConfig(
            arn=self._queue.queue_arn,
            target_resource=self._queue,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                arn=self._dead_letter_queue.queue_arn
            ),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=self._retry_attempts,
                maximum_event_age_in_seconds=self._max_event_age.to_seconds(),
            ),
            sqs_parameters=(
                events.CfnRule.SqsParametersProperty(message_group_id=self._message_group_id)
                if self._message_group_id
                else None
            ),
        )


def allow_rules_to_send(queue: sqs.IQueue, source_arn: str, *, like: bool = False) -> None:
    """Let EventBridge send to ``queue`` only for rules matching ``source_arn``.

    ``like=True`` takes a wildcard pattern (every rule on one bus): one statement whatever the
    number of consumers, where one statement per rule would break SQS's 20-statement limit.
    """
    queue.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["sqs:SendMessage"],
            resources=[queue.queue_arn],
            conditions={("ArnLike" if like else "ArnEquals"): {"aws:SourceArn": source_arn}},
        )
    )
