"""Event types on the construct side: the pattern, the versions, the registry, the producers.

``add_consumer(event_type=...)`` derives the rule's pattern and tells the function which versions
to accept; every event type the fan-out's consumers and producers use is published to its schema
registry; ``add_producer`` grants ``PutEvents`` and lists the producer in the manifest. One stack
is synthesized for the module; the configuration errors synthesize nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
from aws_cdk import CfnElement, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from event_fanout import EventFanout, EventFanoutConfigError, FanoutConsumer
from event_fanout.events import EventType
from event_fanout.manifest_format import MANIFEST_KEY
from event_fanout.operations.route import to_envelope
from event_fanout.runtime import ConsumerSettings, constants
from tests.builders import new_function, new_stack, only
from tests.template_checks import cfn_lint

SOURCE = "shop.pricing"
DETAIL_TYPE = "PriceChanged"
CONSUMER_PATH = "Test/Fanout/Consumers/Audit"
FANOUT_PATH = "Test/Fanout"
PATTERN = events.EventPattern(source=["shop.orders"])


class PriceChangedV1(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    product_id: int
    price: float


class PriceChangedV2(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    product_id: int
    price: float
    currency: str = "EUR"


class StockChangedDetail(BaseModel):
    sku: str
    quantity: int = Field(ge=0)


PriceChanged = EventType(
    SOURCE, DETAIL_TYPE, 1, detail=PriceChangedV1, description="A product's price changed"
)
PriceChanged2 = EventType(SOURCE, DETAIL_TYPE, 2, detail=PriceChangedV2)
StockChanged = EventType("shop.stock", "StockChanged", 1, detail=StockChangedDetail)

PRICE = {"productId": 7, "price": 12.5}
STOCK = {"sku": "SKU-1", "quantity": 3}


@dataclass
class Typed:
    stack: Stack
    template: dict[str, Any]
    fanout: EventFanout
    consumers: dict[str, FanoutConsumer]
    checkout: lambda_.Function

    def logical_id(self, construct: Any) -> str:
        element = construct if isinstance(construct, CfnElement) else construct.node.default_child
        return self.stack.get_logical_id(element)

    def properties(self, construct: Any) -> dict[str, Any]:
        props: dict[str, Any] = self.template["Resources"][self.logical_id(construct)]["Properties"]
        return props

    def pattern_of(self, name: str) -> dict[str, Any]:
        pattern: dict[str, Any] = self.properties(self.consumers[name].rule)["EventPattern"]
        return pattern

    def env_of(self, name: str) -> dict[str, Any]:
        variables: dict[str, Any] = self.properties(self.consumers[name].function)["Environment"][
            "Variables"
        ]
        return variables

    def manifest_of(self, construct: Any) -> dict[str, Any]:
        resource = self.template["Resources"][self.logical_id(construct)]
        entry: dict[str, Any] = resource["Metadata"][MANIFEST_KEY]
        return entry

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == resource_type
        }

    def schema_content(self, event_type: EventType[Any]) -> dict[str, Any]:
        (schema,) = [
            resource["Properties"]
            for resource in self.of_type("AWS::EventSchemas::Schema").values()
            if resource["Properties"]["SchemaName"] == event_type.name
        ]
        content: dict[str, Any] = json.loads(schema["Content"])
        return content


@pytest.fixture(scope="module")
def typed() -> Typed:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    consumers: dict[str, FanoutConsumer] = {}

    def add(name: str, **props: Any) -> None:
        consumers[name] = fanout.add_consumer(
            name, handler=new_function(stack, f"{name}Fn"), **props
        )

    add("Audit", event_type=PriceChanged)
    # Version 2 after version 1: the registry's schema of the type becomes version 2.
    add(
        "Billing",
        event_type=PriceChanged2,
        event_versions=[1, 2],
        event_pattern=events.EventPattern(source=[SOURCE], detail={"currency": ["EUR"]}),
    )
    add("Warehouse", event_type=StockChanged, event_pattern=events.EventPattern(account=["1"]))
    add("Plain", event_pattern=PATTERN)
    checkout = new_function(stack, "CheckoutFn")
    # An older version used after a newer one leaves the schema at the newer.
    fanout.add_producer("Checkout", event_types=[PriceChanged], grantee=checkout)
    fanout.add_producer("Partner", event_types=[StockChanged])
    return Typed(stack, dict(Template.from_stack(stack).to_json()), fanout, consumers, checkout)


def published(event_type: EventType[Any], detail: dict[str, Any]) -> dict[str, Any]:
    """The event EventBridge delivers for what a producer publishes through ``event_type``."""
    return to_envelope(event_type.entry(detail).to_entry())


def restamped(event: dict[str, Any], version: int) -> dict[str, Any]:
    """``event`` claiming another version of its type."""
    return {**event, "detail": {**event["detail"], constants.EVENT_VERSION_FIELD: version}}


# --- the consumer's pattern -----------------------------------------------------------------


def test_a_consumer_of_an_event_type_receives_that_type(typed: Typed) -> None:
    assert typed.pattern_of("Audit") == {"source": [SOURCE], "detail-type": [DETAIL_TYPE]}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "Billing",
            {"source": [SOURCE], "detail-type": [DETAIL_TYPE], "detail": {"currency": ["EUR"]}},
        ),
        (
            "Warehouse",
            {"source": ["shop.stock"], "detail-type": ["StockChanged"], "account": ["1"]},
        ),
    ],
    ids=["names-the-types-source", "leaves-source-and-detail-type-out"],
)
def test_a_pattern_given_with_the_event_type_narrows_it(
    typed: Typed, name: str, expected: dict[str, Any]
) -> None:
    assert typed.pattern_of(name) == expected


@pytest.mark.parametrize(
    ("pattern", "prop", "value"),
    [
        (events.EventPattern(source=["shop.other"]), "event_pattern.source", "['shop.other']"),
        (
            events.EventPattern(source=[SOURCE, "shop.other"]),
            "event_pattern.source",
            "['shop.pricing', 'shop.other']",
        ),
        (
            events.EventPattern(detail_type=["PriceDropped"]),
            "event_pattern.detail_type",
            "['PriceDropped']",
        ),
    ],
    ids=["other-source", "wider-source", "other-detail-type"],
)
def test_a_pattern_naming_another_source_or_detail_type_is_one_config_error(
    pattern: events.EventPattern, prop: str, value: str
) -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")

    with pytest.raises(EventFanoutConfigError) as caught:
        fanout.add_consumer(
            "Audit",
            handler=new_function(stack, "Fn"),
            event_type=PriceChanged,
            event_pattern=pattern,
        )

    assert [problem.prop for problem in caught.value.problems] == [prop]
    message = str(caught.value)
    assert f"{CONSUMER_PATH}: {prop} " in message
    assert f"got {value}" in message
    assert f"Fix: drop {prop}" in message
    assert "Audit" not in fanout.consumers


def test_a_consumer_needs_an_event_pattern_or_an_event_type() -> None:
    stack = new_stack()
    with pytest.raises(EventFanoutConfigError) as caught:
        EventFanout(stack, "Fanout").add_consumer("Audit", handler=new_function(stack, "Fn"))
    assert [problem.prop for problem in caught.value.problems] == ["event_pattern"]
    assert "event_type" in str(caught.value)


# --- the versions it accepts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "value", "expected"),
    [
        ({"event_type": PriceChanged2, "event_versions": []}, "[]", "from 1 to its model's"),
        ({"event_type": PriceChanged2, "event_versions": [0]}, "[0]", "from 1 to its model's"),
        ({"event_type": PriceChanged2, "event_versions": [3]}, "[3]", "version 2"),
        ({"event_type": PriceChanged, "event_versions": [1, 2]}, "[1, 2]", "version 1"),
        ({"event_type": PriceChanged2, "event_versions": [2, 2]}, "[2, 2]", "distinct"),
        ({"event_type": PriceChanged2, "event_versions": [True]}, "[True]", "distinct versions"),
        (
            {"event_pattern": PATTERN, "event_versions": [1]},
            "[1]",
            "needs event_type",
        ),
    ],
    ids=["empty", "zero", "above-version", "above-v1", "duplicates", "bool", "without-type"],
)
def test_invalid_event_versions_is_a_config_error(
    props: dict[str, Any], value: str, expected: str
) -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")

    with pytest.raises(EventFanoutConfigError) as caught:
        fanout.add_consumer("Audit", handler=new_function(stack, "Fn"), **props)

    assert [problem.prop for problem in caught.value.problems] == ["event_versions"]
    message = str(caught.value)
    assert f"{CONSUMER_PATH}: event_versions " in message
    assert f"got {value}." in message
    assert expected in message
    assert "Fix: " in message
    assert fanout.schema_registry is None


def test_the_function_is_told_its_event_type_and_versions(typed: Typed) -> None:
    audit, billing = typed.env_of("Audit"), typed.env_of("Billing")

    assert audit[constants.ENV_EVENT_TYPE] == PriceChanged.name
    assert audit[constants.ENV_EVENT_VERSIONS] == "1"
    assert billing[constants.ENV_EVENT_TYPE] == PriceChanged2.name
    assert billing[constants.ENV_EVENT_VERSIONS] == "1,2"
    plain = typed.env_of("Plain")
    assert constants.ENV_EVENT_TYPE not in plain
    assert constants.ENV_EVENT_VERSIONS not in plain


def test_the_runtime_reads_the_versions_the_construct_sets(typed: Typed) -> None:
    environment = {
        name: value if isinstance(value, str) else "deployed-table"
        for name, value in typed.env_of("Billing").items()
    }

    settings = ConsumerSettings.from_env("Billing", environment)

    assert settings.event_type == PriceChanged2.name
    assert settings.event_versions == (1, 2)


def test_the_manifest_names_the_event_type_and_the_versions_accepted(typed: Typed) -> None:
    audit = typed.manifest_of(typed.consumers["Audit"].queue)["eventType"]
    billing = typed.manifest_of(typed.consumers["Billing"].queue)["eventType"]

    assert audit == {
        "name": PriceChanged.name,
        "source": SOURCE,
        "detailType": DETAIL_TYPE,
        "version": 1,
        "schema": PriceChanged.detail_schema(),
        "accepts": [1],
    }
    assert (billing["version"], billing["accepts"]) == (2, [1, 2])
    assert billing["schema"] == PriceChanged2.detail_schema()
    assert "eventType" not in typed.manifest_of(typed.consumers["Plain"].queue)


# --- the schema registry --------------------------------------------------------------------


def test_one_registry_with_one_schema_per_event_type_name(typed: Typed) -> None:
    (registry_id, registry), *others = typed.of_type("AWS::EventSchemas::Registry").items()
    assert others == []
    assert registry["Properties"]["RegistryName"] == typed.fanout.name

    schemas = [resource for resource in typed.of_type("AWS::EventSchemas::Schema").values()]
    assert sorted(schema["Properties"]["SchemaName"] for schema in schemas) == sorted(
        [PriceChanged.name, StockChanged.name]
    )
    for schema in schemas:
        assert schema["Properties"]["Type"] == "JSONSchemaDraft4"
        assert schema["Properties"]["RegistryName"] == typed.fanout.name
        # Created after the registry: a schema of a registry not yet there fails the deploy.
        assert registry_id in schema.get("DependsOn", [])


@pytest.mark.parametrize(
    ("event_type", "accepted", "refused"),
    [
        # The newest version used (Billing's 2) documents the price type, not Audit's 1.
        (PriceChanged2, published(PriceChanged2, PRICE), published(PriceChanged, PRICE)),
        (
            StockChanged,
            published(StockChanged, STOCK),
            restamped(published(StockChanged, STOCK), 2),
        ),
    ],
    ids=["price-v2", "stock-v1"],
)
def test_the_schema_validates_its_published_events_and_refuses_other_versions(
    typed: Typed, event_type: EventType[Any], accepted: dict[str, Any], refused: dict[str, Any]
) -> None:
    content = typed.schema_content(event_type)

    jsonschema.Draft4Validator.check_schema(content)
    validator = jsonschema.Draft4Validator(content)
    assert list(validator.iter_errors(accepted)) == []
    assert content == event_type.registry_schema()
    errors = list(validator.iter_errors(refused))
    assert errors
    assert all(list(error.absolute_path) == ["detail", "eventVersion"] for error in errors)


def schemas_of(fanout: EventFanout) -> list[eventschemas.CfnSchema]:
    assert fanout.schema_registry is not None
    return [
        child
        for child in fanout.schema_registry.node.children
        if isinstance(child, eventschemas.CfnSchema)
    ]


def test_a_newer_version_of_a_type_replaces_its_schema_content() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    fanout.add_consumer("Audit", handler=new_function(stack, "Fn1"), event_type=PriceChanged)
    (schema,) = schemas_of(fanout)
    assert json.loads(stack.resolve(schema.content))["x-event-fanout-version"] == 1

    fanout.add_consumer("Billing", handler=new_function(stack, "Fn2"), event_type=PriceChanged2)
    fanout.add_producer("Checkout", event_types=[PriceChanged])

    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EventSchemas::Registry", 1)
    props = only(dict(template.find_resources("AWS::EventSchemas::Schema")))
    assert props["SchemaName"] == PriceChanged.name
    assert json.loads(props["Content"]) == PriceChanged2.registry_schema()


def test_schema_registry_false_creates_no_registry() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout", schema_registry=False)
    fanout.add_consumer("Audit", handler=new_function(stack, "Fn"), event_type=PriceChanged)
    fanout.add_producer("Checkout", event_types=[StockChanged])

    template = Template.from_stack(stack)

    assert fanout.schema_registry is None
    template.resource_count_is("AWS::EventSchemas::Registry", 0)
    template.resource_count_is("AWS::EventSchemas::Schema", 0)
    # The rest of the event type is still declared.
    template.has_resource_properties(
        "AWS::Events::Rule",
        {"EventPattern": {"source": [SOURCE], "detail-type": [DETAIL_TYPE]}},
    )


def test_a_fanout_without_event_types_has_no_registry() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    fanout.add_consumer("Plain", handler=new_function(stack, "Fn"), event_pattern=PATTERN)

    template = Template.from_stack(stack)

    assert fanout.schema_registry is None
    template.resource_count_is("AWS::EventSchemas::Registry", 0)
    template.resource_count_is("AWS::EventSchemas::Schema", 0)
    assert "producers" not in only_fanout_entry(template.to_json())


def only_fanout_entry(template: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any]
    (entry,) = [
        resource["Metadata"][MANIFEST_KEY]
        for resource in template["Resources"].values()
        if resource.get("Metadata", {}).get(MANIFEST_KEY, {}).get("kind") == "fanout"
    ]
    return entry


class ShippedDetail(BaseModel):
    order_id: str


def test_two_event_types_whose_names_differ_only_in_punctuation_get_one_schema_each() -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    dotted = EventType("shop.pricing", DETAIL_TYPE, 1, detail=ShippedDetail)
    dashed = EventType("shop-pricing", DETAIL_TYPE, 1, detail=ShippedDetail)

    fanout.add_producer("Checkout", event_types=[dotted, dashed])

    assert [schema.schema_name for schema in schemas_of(fanout)] == [dotted.name, dashed.name]


# --- producers ------------------------------------------------------------------------------


def put_events_statements(typed: Typed) -> list[tuple[list[Any], dict[str, Any]]]:
    """(roles, statement) of every statement allowing events:PutEvents in the template."""
    found = []
    for policy in typed.of_type("AWS::IAM::Policy").values():
        props = policy["Properties"]
        for statement in props["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            if "events:PutEvents" in ([actions] if isinstance(actions, str) else actions):
                found.append((props["Roles"], statement))
    return found


def test_a_producer_in_the_app_may_put_events_on_the_bus_and_an_external_one_gets_nothing(
    typed: Typed,
) -> None:
    assert typed.checkout.role is not None
    role_id = typed.logical_id(typed.checkout.role)
    bus_id = typed.logical_id(typed.fanout.event_bus)

    ((roles, statement),) = put_events_statements(typed)  # Partner (external) adds none

    assert roles == [{"Ref": role_id}]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == {"Fn::GetAtt": [bus_id, "Arn"]}


def test_the_fanout_manifest_lists_its_producers_and_their_event_types(typed: Typed) -> None:
    producers = typed.manifest_of(typed.fanout.undeliverable_events_queue)["producers"]

    assert [(p["id"], p["external"]) for p in producers] == [
        ("Checkout", False),
        ("Partner", True),
    ]
    checkout, partner = (p["eventTypes"] for p in producers)
    assert [(t["name"], t["version"]) for t in checkout] == [(PriceChanged.name, 1)]
    assert [(t["name"], t["version"]) for t in partner] == [(StockChanged.name, 1)]
    assert checkout[0]["schema"] == PriceChanged.detail_schema()
    assert set(typed.fanout.producers) == {"Checkout", "Partner"}


@pytest.mark.parametrize(
    ("producer_id", "event_types", "prop", "value"),
    [
        ("Checkout", [StockChanged], "producer_id", "'Checkout'"),
        ("Returns", [], "event_types", "[]"),
        ("Returns", [PriceChangedV1], "event_types", "[<class"),
    ],
    ids=["duplicate-id", "no-event-types", "not-an-event-type"],
)
def test_an_invalid_producer_is_a_config_error_and_gets_no_grant(
    producer_id: str, event_types: list[Any], prop: str, value: str
) -> None:
    stack = new_stack()
    fanout = EventFanout(stack, "Fanout")
    fanout.add_producer("Checkout", event_types=[PriceChanged])
    grantee = new_function(stack, "Fn")

    with pytest.raises(EventFanoutConfigError) as caught:
        fanout.add_producer(producer_id, event_types=event_types, grantee=grantee)

    assert [problem.prop for problem in caught.value.problems] == [prop]
    message = str(caught.value)
    assert f"{FANOUT_PATH}: {prop} " in message
    assert f"got {value}" in message
    assert "Fix: " in message
    assert list(fanout.producers) == ["Checkout"]
    assert fanout.producers["Checkout"].event_types == (PriceChanged,)
    assert grantee.role is not None
    assert grantee.role.node.try_find_child("DefaultPolicy") is None


# --- the whole template ---------------------------------------------------------------------


def test_the_template_with_event_types_passes_cfn_lint(typed: Typed) -> None:
    assert cfn_lint(typed.template) == []
