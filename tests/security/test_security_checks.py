"""What a security reviewer runs, on the reference stack and the maximal configuration.

cdk-nag (four packs) runs inside synthesis: both fixtures would raise on any unacknowledged
finding. cfn-lint and checkov run on the synthesized templates; a walk of every policy fails on
wildcards not on a reasoned allow-list.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from event_fanout.stacks.campaign_budget_stack import CampaignBudgetStack
from tests.builders import REPO_ROOT
from tests.security.maximal_stack import build_maximal
from tests.template_checks import cfn_lint

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"

#: checkov checks skipped on the reference stack only, which keeps AWS-managed encryption at
#: rest (SQS-managed SSE, DynamoDB's AWS key); the maximal configuration passes both with its key.
REFERENCE_ONLY_SKIPS = {
    "CKV_AWS_27": "SqsManagedSseEnabled is encryption at rest (SSE-SQS); checkov only "
    "recognises KmsMasterKeyId",
    "CKV_AWS_119": "tables use DynamoDB's AWS-managed key; pass encryption_key= for a CMK",
}

#: checkov checks skipped, each with why it does not apply.
CHECKOV_SKIPS = {
    # Consumer functions reach only AWS APIs; see consumer_function.FUNCTION_ACKNOWLEDGEMENTS.
    "CKV_AWS_117": "Lambda inside a VPC: reaches only AWS APIs over TLS with IAM auth",
    # Bounded on the event source mapping (max_concurrency), as AWS recommends for SQS.
    "CKV_AWS_115": "Lambda reserved concurrency: concurrency is capped on the SQS mapping",
    # Invoked synchronously by the mapping; failed records go to the queue's DLQ.
    "CKV_AWS_116": "Lambda DLQ: only applies to asynchronous invocations",
    # The functions' environment holds table names and JMESPaths, no secrets.
    "CKV_AWS_173": "Lambda environment encryption with a CMK: no secrets in the environment",
}


@pytest.fixture(scope="module")
def templates(
    reference_synth: tuple[CampaignBudgetStack, dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Both templates, synthesized with the four nag packs attached (synth raises on a finding)."""
    max_app, _ = build_maximal()
    maximal = max_app.synth().get_stack_by_name("Maximal").template
    return {"reference": reference_synth[1], "maximal": maximal}


def test_cfn_lint_clean(templates: dict[str, dict[str, Any]]) -> None:
    """The maximal configuration; the reference template is linted in tests/stack."""
    assert cfn_lint(templates["maximal"]) == []


@pytest.fixture(scope="module")
def checkov(
    templates: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, list[str]]]:
    """One checkov run over both templates (its start-up is most of its cost): template name ->
    ``passed``/``failed`` -> ``"<check id> <check name> (<resource>)"`` lines.

    ``--skip-download``: the checks are in the package; without it checkov first asks Prisma
    Cloud's API for guideline links, which fails or hangs on a machine without that access.
    """
    assert CHECKOV.exists(), "checkov is missing: run `bash scripts/setup.sh`"
    folder = tmp_path_factory.mktemp("checkov")
    files: list[str] = []
    for name, template in templates.items():
        path = folder / f"{name}.template.json"
        path.write_text(json.dumps(template))
        files += ["--file", str(path)]
    result = subprocess.run(
        [
            str(CHECKOV),
            *files,
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--compact",
            "--skip-download",
            "--skip-check",
            ",".join(CHECKOV_SKIPS),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    outcomes: dict[str, dict[str, list[str]]] = {
        name: {"passed": [], "failed": []} for name in templates
    }
    for outcome in ("passed", "failed"):
        for check in report.get("results", {}).get(f"{outcome}_checks", []):
            name = Path(check["file_path"]).name.removesuffix(".template.json")
            outcomes[name][outcome].append(
                f"{check['check_id']} {check['check_name']} ({check['resource']})"
            )
    return outcomes


@pytest.mark.parametrize("name", ["reference", "maximal"])
def test_checkov_finds_no_failed_checks(
    checkov: dict[str, dict[str, list[str]]], name: str
) -> None:
    skipped = REFERENCE_ONLY_SKIPS if name == "reference" else {}
    failed = [line for line in checkov[name]["failed"] if line.split()[0] not in skipped]
    assert failed == [], "\n".join(failed)
    assert len(checkov[name]["passed"]) > 20, "checkov ran no checks"


def test_maximal_configuration_passes_what_the_reference_skips(
    checkov: dict[str, dict[str, list[str]]],
) -> None:
    passed = {line.split()[0] for line in checkov["maximal"]["passed"]}
    assert set(REFERENCE_ONLY_SKIPS) <= passed


# -- every policy, every wildcard ----------------------------------------------------------------

#: (where, wildcard) -> why it is acceptable. "where" is the statement's context.
WILDCARD_ALLOW_LIST = {
    ("key-policy", "resource:*"): "in a KMS key policy, Resource '*' means this key",
    ("key-policy", "action:kms:*"): (
        "the account-root statement CDK writes into every key policy so that IAM policies can "
        "grant the key (AWS's default key policy)"
    ),
    ("identity", "resource:*"): "X-Ray trace actions accept no resource but '*'",
}
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(template: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(resource id, context, statement) for every Allow statement of every policy."""
    for logical_id, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        documents: list[tuple[str, Any]] = []
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(("identity", props["PolicyDocument"]))
        elif kind == "AWS::IAM::Role":
            documents += [("identity", p["PolicyDocument"]) for p in props.get("Policies", [])]
            documents.append(("trust", props["AssumeRolePolicyDocument"]))
        elif kind == "AWS::KMS::Key":
            documents.append(("key-policy", props["KeyPolicy"]))
        elif kind in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            documents.append(("resource-policy", props["PolicyDocument"]))
        for context, document in documents:
            for statement in document["Statement"]:
                if statement["Effect"] == "Allow":
                    yield logical_id, context, statement


def _wildcards(context: str, statement: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for action in _as_list(statement.get("Action", [])):
        if "*" in action:
            found.append((context, f"action:{action}"))
    for resource in _as_list(statement.get("Resource", [])):
        if resource == "*":
            if context == "identity" and not set(_as_list(statement["Action"])) <= XRAY_ACTIONS:
                found.append((context, "resource:* for non-X-Ray actions"))
            else:
                found.append((context, "resource:*"))
        elif isinstance(resource, str) and resource.endswith(":*"):
            found.append((context, f"resource:{resource}"))
    return found


@pytest.mark.parametrize("name", ["reference", "maximal"])
def test_no_wildcard_outside_the_reasoned_allow_list(
    templates: dict[str, dict[str, Any]], name: str
) -> None:
    unexplained = [
        f"{logical_id}: {wildcard} in {json.dumps(statement)}"
        for logical_id, context, statement in _statements(templates[name])
        for wildcard in _wildcards(context, statement)
        if wildcard not in WILDCARD_ALLOW_LIST
    ]
    assert unexplained == [], "\n".join(unexplained)


def test_key_policies_give_eventbridge_nothing_without_a_rule_condition(
    templates: dict[str, dict[str, Any]],
) -> None:
    for logical_id, context, statement in _statements(templates["maximal"]):
        if statement.get("Principal") == {"Service": "events.amazonaws.com"}:
            condition = statement.get("Condition", {})
            arns = condition.get("ArnEquals", condition.get("ArnLike", {}))
            assert "aws:SourceArn" in arns, f"{logical_id} ({context}) is unconditional"


def test_the_walk_catches_a_wildcard() -> None:
    """The check above can fail: a statement with a wildcard action is reported."""
    statement = {"Effect": "Allow", "Action": "sqs:*", "Resource": "arn:aws:sqs:eu-west-1:1:q"}
    assert _wildcards("identity", statement) == [("identity", "action:sqs:*")]
