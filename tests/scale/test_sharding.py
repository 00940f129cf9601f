"""A fan-out larger than one CloudFormation stack: 60 consumers spread over nested stacks.

GIVEN a fan-out with 60 consumers (three times one stack's 500 resources) over ``SHARDS`` nested
stacks whose handlers are built by a
factory (so each function is created in its consumer's shard), WHEN the app is synthesized
(once for the module),
THEN every template, the parent's and each nested stack's, stays within CloudFormation's
limits, every consumer appears exactly once, and cfn-lint finds no error.

cfn-lint takes ~15 s per 450-resource template on one core, so it checks every template of a
small sharded fan-out instead (three shards, built by the same code, with the same
cross-stack wiring and per-consumer shape as the big one's, and a filled fan-out whose first
consumers take functions defined in the parent stack);
``EVENT_FANOUT_LINT_ALL_SHARDS=1`` lints every template of the 60-consumer fan-out too.
``benchmarks/large_local_deploy.py`` deploys a 120-consumer one.
As in every test app (``new_app``), CDK's built-in template validation is off: cfn-lint is
the check here, and running both doubles the synth time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import DefaultStackSynthesizer, Stack
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from event_fanout import EventFanout
from event_fanout.constructs.consumer_shards import ConsumersShard, jump_hash
from tests.builders import ENV, new_app, new_function, new_stack
from tests.template_checks import cfn_lint

CONSUMERS = 60
#: Enough shards that the fullest (a hash spreads unevenly: 15 of the 60) stays in budget.
SHARDS = 5
MAX_RESOURCES = 500
MAX_TEMPLATE_BYTES = 1_000_000


def handler_factory(scope: Construct) -> lambda_.Function:
    """Each consumer's function, created in the consumer's scope (so it moves with it)."""
    return new_function(scope, "Fn")


@dataclass
class Synthesized:
    fanout: EventFanout
    #: Template file name -> template, the parent's first.
    templates: dict[str, dict[str, Any]]
    sizes: dict[str, int]


def synthesize(
    outdir: Path,
    name: str,
    consumers: int,
    *,
    function_handlers: int = 0,
    **fanout_props: Any,
) -> Synthesized:
    """A fan-out of ``consumers`` with factory-built handlers, alarms to a topic, synthesized.

    The first ``function_handlers`` consumers get a function defined in the parent stack.
    """
    app = new_app(outdir=str(outdir))
    stack = Stack(
        app,
        name,
        env=ENV,
        synthesizer=DefaultStackSynthesizer(generate_bootstrap_version_rule=False),
    )
    topic = sns.Topic(stack, "Alarms")
    fanout = EventFanout(
        stack,
        "Fanout",
        event_bus_name=name.lower(),
        alarm_actions=[cw_actions.SnsAction(topic)],
        **fanout_props,
    )
    for i in range(consumers):
        fanout.add_consumer(
            f"Consumer{i}",
            handler=new_function(stack, f"Fn{i}") if i < function_handlers else handler_factory,
            event_pattern=events.EventPattern(source=[name.lower()], detail_type=[f"Type{i}"]),
        )
    assembly = app.synth()
    parent = assembly.get_stack_by_name(name)
    files = [Path(parent.template_full_path), *sorted(Path(outdir).glob("*.nested.template.json"))]
    return Synthesized(
        fanout,
        {f.name: json.loads(f.read_text()) for f in files},
        {f.name: f.stat().st_size for f in files},
    )


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("sharding"), "Big", CONSUMERS, shards=SHARDS)


def test_consumers_spread_over_nested_stacks(big: Synthesized) -> None:
    shards = big.fanout.shards
    assert len(shards) == SHARDS
    assert all(isinstance(s, ConsumersShard) for s in shards)
    assert sorted(s.node.id for s in shards) == sorted(
        f"ConsumersShard{i + 1}" for i in range(SHARDS)
    )
    # Every consumer is in a shard, the one its id hashes to.
    for consumer_id, consumer in big.fanout.consumers.items():
        expected = f"ConsumersShard{jump_hash(consumer_id, SHARDS) + 1}"
        assert Stack.of(consumer).node.id == expected, consumer_id
    assert len(big.templates) == 1 + len(shards)
    parent = next(iter(big.templates.values()))
    nested = [r for r in parent["Resources"].values() if r["Type"] == "AWS::CloudFormation::Stack"]
    assert len(nested) == len(shards)


def test_no_template_exceeds_cloudformation_limits(big: Synthesized) -> None:
    for name, template in big.templates.items():
        assert len(template["Resources"]) <= MAX_RESOURCES, name
        assert big.sizes[name] < MAX_TEMPLATE_BYTES, name
        assert len(template.get("Parameters", {})) <= 200, name
        assert len(template.get("Outputs", {})) <= 200, name


def test_every_consumer_present_exactly_once(big: Synthesized) -> None:
    rules = [
        r["Properties"]["Description"]
        for t in big.templates.values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::Events::Rule"
    ]
    consumers = [d.rsplit("/", 1)[-1] for d in rules]
    assert sorted(consumers) == sorted(f"Consumer{i}" for i in range(CONSUMERS))
    functions = [
        r
        for t in big.templates.values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function"
    ]
    assert len(functions) == CONSUMERS
    assert len(big.fanout.consumers) == CONSUMERS


def test_each_consumer_and_its_function_share_a_stack(big: Synthesized) -> None:
    for consumer in big.fanout.consumers.values():
        assert Stack.of(consumer) is Stack.of(consumer.function)


def test_templates_pass_cfn_lint(tmp_path: Path, big: Synthesized) -> None:
    # Without dashboards: their bodies triple cfn-lint's time, and the reference stack's lint
    # (tests/security) checks a dashboard's template.
    small = synthesize(
        tmp_path / "stable", "Small", 8, shards=3, resource_budget=100, dashboard=False
    )
    assert len(small.fanout.shards) == 3  # a parent and shards, as in the big one
    # Filled in order: the parent's consumers take functions defined in the parent stack.
    filled = synthesize(
        tmp_path / "filled",
        "Filled",
        6,
        function_handlers=2,
        allow_consumer_moves=True,
        resource_budget=80,
        dashboard=False,
    )
    assert len(filled.fanout.shards) >= 1
    checked = {f"small/{name}": template for name, template in small.templates.items()}
    checked |= {f"filled/{name}": template for name, template in filled.templates.items()}
    if os.environ.get("EVENT_FANOUT_LINT_ALL_SHARDS") == "1":
        checked |= {f"big/{name}": template for name, template in big.templates.items()}
    found = {
        name: [f for f in cfn_lint(template) if f.startswith("E")]
        for name, template in checked.items()
    }
    assert found == {name: [] for name in checked}


def test_small_fanout_gets_no_nested_stack() -> None:
    stack = new_stack("Small")
    fanout = EventFanout(stack, "Fanout")
    for i in range(3):
        fanout.add_consumer(
            f"C{i}",
            handler=new_function(stack, f"Fn{i}"),
            event_pattern=events.EventPattern(source=["x"]),
        )
    assert fanout.shards == ()
    assert all(Stack.of(c) is stack for c in fanout.consumers.values())


def test_consumers_per_stack_fixes_the_shard_size_when_consumers_may_move() -> None:
    stack = new_stack("Fixed")
    fanout = EventFanout(stack, "Fanout", consumers_per_stack=2, allow_consumer_moves=True)
    for i in range(5):
        fanout.add_consumer(
            f"C{i}", handler=handler_factory, event_pattern=events.EventPattern(source=["x"])
        )
    homes = [Stack.of(c).node.id for c in fanout.consumers.values()]
    assert homes == ["Fixed", "Fixed", "ConsumersShard1", "ConsumersShard1", "ConsumersShard2"]


def test_alarms_in_every_shard_notify_the_parent_stacks_topic(big: Synthesized) -> None:
    """One SNS action serves every consumer: its topic ARN crosses into each nested stack."""
    parent_name, *shard_names = big.templates
    parent = big.templates[parent_name]["Resources"]
    (topic_id,) = (k for k, r in parent.items() if r["Type"] == "AWS::SNS::Topic")
    passed = {
        name: value
        for r in parent.values()
        if r["Type"] == "AWS::CloudFormation::Stack"
        for name, value in r["Properties"].get("Parameters", {}).items()
    }
    for shard in shard_names:
        alarms = [
            r["Properties"]
            for r in big.templates[shard]["Resources"].values()
            if r["Type"] == "AWS::CloudWatch::Alarm"
        ]
        assert alarms, shard
        for props in alarms:
            assert props["AlarmActions"] == props["OKActions"], shard
            (action,) = props["AlarmActions"]
            assert passed[action["Ref"]] == {"Ref": topic_id}, shard
