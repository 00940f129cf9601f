"""The reference stack: what the seed's scenario deploys, its security checks and its snapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, DefaultStackSynthesizer, Validations
from aws_cdk import aws_sqs as sqs
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from event_fanout.app_factory import build_app
from event_fanout.stacks.campaign_budget_stack import CampaignBudgetStack
from event_fanout.testing import normalize_template
from tests.builders import ENV, new_app
from tests.template_checks import cfn_lint

NAG_PACKS = {"AwsSolutions", "Serverless", "NIST.800.53.R5", "HIPAA.Security"}


def _build() -> tuple[App, CampaignBudgetStack]:
    return build_app(
        new_app(),
        env=ENV,
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )


@pytest.fixture(scope="module")
def reference(
    reference_synth: tuple[CampaignBudgetStack, dict[str, Any]],
) -> tuple[CampaignBudgetStack, dict[str, Any]]:
    """Synthesized through the whole app, so the cdk-nag plugin runs exactly as in `cdk synth`."""
    return reference_synth


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def _resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def _rule_of(stack: CampaignBudgetStack, template: dict[str, Any], consumer: str) -> dict[str, Any]:
    rule = stack.fanout.consumers[consumer].rule
    props: dict[str, Any] = template["Resources"][stack.get_logical_id(rule.node.default_child)][  # type: ignore[arg-type]
        "Properties"
    ]
    return props


def test_three_consumers_on_the_campaigns_bus(
    reference: tuple[CampaignBudgetStack, dict[str, Any]],
) -> None:
    stack, template = reference
    assert set(stack.fanout.consumers) == {"ReportingSync", "AuditLog", "Notification"}
    (bus,) = _resources(template, "AWS::Events::EventBus").values()
    assert bus["Properties"]["Name"] == "ads-campaigns"
    assert len(_resources(template, "AWS::Events::Rule")) == 3
    assert len(_resources(template, "AWS::Events::Archive")) == 1


def test_routing_patterns(reference: tuple[CampaignBudgetStack, dict[str, Any]]) -> None:
    stack, template = reference
    assert _rule_of(stack, template, "ReportingSync")["EventPattern"] == {
        "source": ["ads.campaigns"],
        "detail-type": ["CampaignBudgetChanged"],
    }
    assert _rule_of(stack, template, "AuditLog")["EventPattern"] == {"source": ["ads.campaigns"]}
    assert _rule_of(stack, template, "Notification")["EventPattern"] == {
        "source": ["ads.campaigns"],
        "detail-type": ["CampaignBudgetChanged"],
        "detail": {"newBudget": [{"numeric": [">", 1000]}]},
    }


def test_reporting_sync_dedups_on_campaign_and_version(
    reference: tuple[CampaignBudgetStack, dict[str, Any]],
) -> None:
    stack, template = reference
    fn = stack.fanout.consumers["ReportingSync"].function
    env = template["Resources"][stack.get_logical_id(fn.node.default_child)]["Properties"][  # type: ignore[arg-type]
        "Environment"
    ]["Variables"]
    assert env["IDEMPOTENCY_KEY_PATH"] == "[detail.campaignId, detail.version]"
    assert env["BUDGETS_TABLE_NAME"] == {
        "Ref": stack.get_logical_id(stack.budgets_table.node.default_child)  # type: ignore[arg-type]
    }


def test_handlers_are_the_packaged_handler_modules(
    reference: tuple[CampaignBudgetStack, dict[str, Any]],
) -> None:
    _, template = reference
    handlers = {
        f["Properties"]["Handler"] for f in _resources(template, "AWS::Lambda::Function").values()
    }
    assert handlers == {"reporting_sync.handler", "audit_log.handler", "notification.handler"}


def test_every_alarm_notifies_the_encrypted_topic(
    reference: tuple[CampaignBudgetStack, dict[str, Any]],
) -> None:
    stack, template = reference
    topic_id = stack.get_logical_id(stack.alarm_topic.node.default_child)  # type: ignore[arg-type]
    alarms = _resources(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 3 * 7 + 1
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]
    topic = template["Resources"][topic_id]["Properties"]
    assert "KmsMasterKeyId" in topic


def test_alarm_topic_key_admits_only_this_accounts_alarms(
    reference: tuple[CampaignBudgetStack, dict[str, Any]],
) -> None:
    stack, template = reference
    key_id = stack.get_logical_id(stack.alarm_topic.master_key.node.default_child)  # type: ignore[union-attr, arg-type]
    statements = template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [
        s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    source_arn = json.dumps(cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"])
    assert ":cloudwatch:eu-west-1:123456789012:alarm:*" in source_arn


def test_no_managed_policies_on_consumer_roles(
    reference: tuple[CampaignBudgetStack, dict[str, Any]],
) -> None:
    _, template = reference
    for role in _resources(template, "AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_cfn_lint_finds_no_errors_or_warnings(
    reference: tuple[CampaignBudgetStack, dict[str, Any]],
) -> None:
    _, template = reference
    assert cfn_lint(template) == []


def test_snapshot(
    reference: tuple[CampaignBudgetStack, dict[str, Any]], snapshot_json: SnapshotAssertion
) -> None:
    _, template = reference
    assert normalize_template(template) == snapshot_json


def test_nag_acknowledgements_are_scoped_to_resources_with_reasons() -> None:
    _, stack = _build()
    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    found = 0
    for construct in stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type != key:
                continue
            found += 1
            assert construct is not stack, "acknowledge on the resource, not the whole stack"
            for rule, reason in entry.data.items():
                assert rule.split("::")[0] in NAG_PACKS, f"{rule}: not a cdk-nag rule id"
                assert len(reason) > 40, f"{construct.node.path}: reason too thin: {reason!r}"
    assert found >= 1


def test_nag_fails_the_synth_on_an_unacknowledged_finding() -> None:
    """The check can fail: an unencrypted-in-transit queue without DLQ breaks the synth."""
    app, stack = _build()
    sqs.Queue(stack, "Careless", enforce_ssl=False)
    with pytest.raises(
        Exception, match=r"(?s)Careless.*AwsSolutions-SQS3.*Careless.*AwsSolutions-SQS4"
    ):
        app.synth()


def test_readme_diagram_is_the_reference_stack_as_drawn(
    reference_synth: tuple[Any, dict[str, Any]],
) -> None:
    # The README's picture is `event-fanout diagram` of this template, kept current.
    from event_fanout.operations.diagram import mermaid
    from tests.test_readme import check_marked_section

    _, template = reference_synth
    drawn = mermaid({"CampaignBudgets": template})
    check_marked_section("diagram", f"```mermaid\n{drawn}```\n", "diagram")
    assert drawn.count("_rule{{") == 3 and "detail.newBudget #gt; 1000" in drawn


def test_the_reference_event_contracts_hold_against_the_committed_baseline(
    reference_synth: tuple[Any, dict[str, Any]],
) -> None:
    # What `event-fanout contracts check` runs in CI: the app against event-contracts.json and
    # the producer team's samples in event-samples/.
    from event_fanout.events.contracts import errors
    from event_fanout.operations.contract_check import contract_findings, load_samples

    root = Path(__file__).resolve().parents[2]
    baseline = json.loads((root / "event-contracts.json").read_text())
    samples = load_samples(root / "event-samples")
    _, template = reference_synth
    findings = contract_findings({"CampaignBudgets": template}, baseline, samples)
    assert [str(f) for f in errors(findings)] == []
    assert samples and list(baseline["eventTypes"]) == ["ads.campaigns@CampaignBudgetChanged"]
