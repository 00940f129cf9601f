"""A fan-out checked by cdk-nag 2 (Aspects): prints the findings as JSON, one per line.

Run by tests/security/test_cdk_nag_2.py with cdk-nag 2 first on ``sys.path``; never imported.
"""

import json

from aws_cdk import App, Aspects, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, ServerlessChecks

from event_fanout import EventFanout

app = App()
stack = Stack(app, "Nag2")
function = lambda_.Function(
    stack,
    "Fn",
    runtime=lambda_.Runtime.PYTHON_3_12,
    handler="index.handler",
    code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
    timeout=Duration.seconds(30),
)
EventFanout(stack, "Fanout").add_consumer(
    "Audit", handler=function, event_pattern=events.EventPattern(source=["a"])
)
# The control: a queue of the user's own, unacknowledged, that cdk-nag 2 must still report.
sqs.Queue(stack, "UsersOwnQueue", enforce_ssl=True)
for pack in (AwsSolutionsChecks(), ServerlessChecks(), NIST80053R5Checks(), HIPAASecurityChecks()):
    Aspects.of(app).add(pack)
for finding in Annotations.from_stack(stack).find_error("*", Match.any_value()):
    rule = str(finding.entry.data).split(":", 1)[0]
    print(json.dumps({"path": finding.id, "rule": rule}))
