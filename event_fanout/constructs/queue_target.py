"""An EventBridge rule target for a consumer queue whose permissions this library writes itself.

aws-events-targets' ``SqsQueue`` drops the ``aws:SourceArn`` condition from the queue policy as
soon as the queue has a KMS key (to dodge a dependency cycle, aws-cdk#11158), and grants
``events.amazonaws.com`` the key without condition: any rule in any account could then send. It
also adds one statement per rule to a shared dead-letter queue, and SQS allows 20 statements per
policy. This target only declares the target; :mod:`event_fanout.constructs.encryption` and the
consumer write scoped permissions (:mod:`event_fanout.constructs.permissions`).
"""

from __future__ import annotations

import jsii
from aws_cdk import aws_events as events
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces import aws_events as events_refs


@jsii.implements(events.IRuleTarget)
class ConsumerQueueTarget:
    """Delivers matched events to ``queue``; undeliverable ones go to the dead-letter queue.

    Takes the ARNs and the retry policy from the consumer, which has them at hand: ``bind``
    only returns the target's CloudFormation shape.
    """

    def __init__(
        self,
        queue: sqs.IQueue,
        *,
        queue_arn: str,
        dead_letter_queue_arn: str,
        retry_attempts: int,
        max_event_age_seconds: float,
        message_group_id: str | None,
    ) -> None:
        self._queue = queue
        self._queue_arn = queue_arn
        self._dead_letter_queue_arn = dead_letter_queue_arn
        self._retry_attempts = retry_attempts
        self._max_event_age_seconds = max_event_age_seconds
        self._message_group_id = message_group_id

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        """Return the target's CloudFormation shape; grants nothing (the consumer does)."""
        return events.RuleTargetConfig(
            arn=self._queue_arn,
            target_resource=self._queue,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                arn=self._dead_letter_queue_arn
            ),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=self._retry_attempts,
                maximum_event_age_in_seconds=self._max_event_age_seconds,
            ),
            sqs_parameters=(
                events.CfnRule.SqsParametersProperty(message_group_id=self._message_group_id)
                if self._message_group_id
                else None
            ),
        )
