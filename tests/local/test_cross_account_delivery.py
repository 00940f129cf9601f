"""Two accounts on the emulator: an event on the central bus reaches the team's queue.

The emulator models accounts (moto keys its backends by account; credentials from
``AssumeRole`` into another account act there), so the two-account example deploys as its
teams would deploy it: the central stack into 111111111111, the billing stack into
222222222222, each from its own synthesized template, each verified resource by resource.
Then an ``OrderPlaced`` published to the central bus travels the forwarding rule to the team's
bus and its consumer's rule to the consumer's queue; an event of another type does not.

What the emulator does not do: enforce the team bus's policy or the forwarding role (moto
enforces no IAM). The templates' grants are checked in ``tests/library/test_cross_account.py``.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from event_fanout.local.server import LocalAws
from event_fanout.local.session import AwsSession, session_for
from event_fanout.local.verification import verify_tree
from tests.builders import new_app
from tests.library.test_cross_account import EXAMPLE

pytestmark = pytest.mark.e2e


def _account_session(local_aws: LocalAws, account: str) -> AwsSession:
    """Clients acting in ``account``: credentials of a role assumed there."""
    sts = session_for(local_aws.environment).client("sts")
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/deployer", RoleSessionName="test"
    )["Credentials"]
    return session_for(
        {
            **local_aws.environment,
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }
    )


def _deploy(session: AwsSession, name: str, template: dict[str, Any], tmp_path: Path) -> None:
    """Create the stack from its template and verify it (no CDK CLI: nothing to upload).

    CDK's bootstrap-version check is left out: the accounts are not bootstrapped, and the
    stacks have no asset that would need the bootstrap bucket.
    """
    template = {k: v for k, v in template.items() if k not in ("Parameters", "Rules")}
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(
        StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
    )
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    path = tmp_path / f"{name}.template.json"
    path.write_text(json.dumps(template))
    verify_tree(session, name, path)  # raises naming any resource the emulator dropped


def test_an_event_on_the_central_bus_reaches_the_team_consumer_in_its_account(
    local_aws: LocalAws, tmp_path: Path
) -> None:
    # GIVEN the two stacks, synthesized, each deployed into its own account
    app = new_app()
    EXAMPLE.build(app)
    assembly = app.synth()
    central = _account_session(local_aws, EXAMPLE.CENTRAL.account)
    billing = _account_session(local_aws, EXAMPLE.BILLING.account)
    suffix = uuid.uuid4().hex[:6]
    _deploy(central, f"Central{suffix}", assembly.get_stack_by_name("Central").template, tmp_path)
    _deploy(billing, f"Billing{suffix}", assembly.get_stack_by_name("Billing").template, tmp_path)
    described = billing.client("events").describe_event_bus(Name=EXAMPLE.BILLING_BUS)
    assert EXAMPLE.FORWARDING_RULE in described["Policy"]  # the admission, deployed

    # WHEN the shop publishes an order and a cancellation on the central bus
    order_id = f"o-{suffix}"
    central.client("events").put_events(
        Entries=[
            {
                "EventBusName": EXAMPLE.CENTRAL_BUS,
                "Source": "shop.orders",
                "DetailType": detail_type,
                "Detail": json.dumps({"orderId": order_id}),
            }
            for detail_type in ("OrderPlaced", "OrderCancelled")
        ]
    )

    # THEN the billing team's consumer queue, in the billing account, holds the order only
    sqs = billing.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=_consumer_queue_name(billing, f"Billing{suffix}"))[
        "QueueUrl"
    ]
    bodies = _receive_all(sqs, queue_url)
    assert [(b["detail-type"], b["detail"]["orderId"]) for b in bodies] == [
        ("OrderPlaced", order_id)
    ]


def _consumer_queue_name(session: AwsSession, stack: str) -> str:
    """The Invoicing consumer's queue in the deployed stack (its generated name)."""
    resources = session.client("cloudformation").list_stack_resources(StackName=stack)
    urls = [
        r["PhysicalResourceId"]
        for r in resources["StackResourceSummaries"]
        if r["ResourceType"] == "AWS::SQS::Queue"
        and "InvoicingQueue" in r["LogicalResourceId"]
        and "DeadLetter" not in r["LogicalResourceId"]
    ]
    (url,) = urls
    return url.rsplit("/", 1)[-1]


def _receive_all(sqs: Any, queue_url: str, seconds: float = 5.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    bodies: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        bodies += [json.loads(m["Body"]) for m in messages]
        if bodies and not messages:
            break
    return bodies
