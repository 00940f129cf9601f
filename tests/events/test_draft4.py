"""draft4_schema: pydantic's 2020-12 schema rewritten so a Draft 4 validator agrees with it."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import jsonschema
import pydantic
import pytest
from pydantic import BaseModel, Field

from event_fanout.events.draft4 import DRAFT4_SCHEMA_URI, draft4_schema


class Channel(enum.Enum):
    EMAIL = "email"
    SMS = "sms"


class LineItem(BaseModel):
    sku: str = Field(min_length=3, pattern=r"^[A-Z0-9-]+$", examples=["SKU-1"])
    quantity: int = Field(gt=0, deprecated="use units")
    price: float = Field(ge=0, lt=1_000_000)


class Address(BaseModel):
    city: str
    postcode: str | None = None


class Category(BaseModel):
    """A recursive model: a category has sub-categories."""

    name: str
    children: list[Category] = []
    parent: Category | None = None


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class OrderPlaced(BaseModel):
    kind: Literal["order-placed"]
    order_id: str = Field(alias="orderId", description="The order's id.")
    new_budget: int = Field(alias="newBudget", gt=0)
    items: list[LineItem]
    tags: dict[str, int] = {}
    position: tuple[float, float]
    channel: Channel = Channel.EMAIL
    shipping: Address = Field(description="Where the order goes.")
    billing: Address | None = None
    category: Category | None = None
    pet: Cat | Dog = Field(discriminator="kind")
    placed_at: str = Field(alias="placedAt", json_schema_extra={"format": "date-time"})


VALID_ORDER: dict[str, Any] = {
    "kind": "order-placed",
    "orderId": "o-1",
    "newBudget": 10,
    "items": [{"sku": "SKU-1", "quantity": 2, "price": 9.5}],
    "tags": {"priority": 1},
    "position": [1.5, 2.0],
    "channel": "sms",
    "shipping": {"city": "Lyon"},
    "billing": None,
    "category": {"name": "toys", "children": [{"name": "lego", "children": []}]},
    "pet": {"kind": "cat", "lives": 9},
    "placedAt": "2024-01-01T00:00:00Z",
}


def walk(schema: object) -> Iterator[dict[str, Any]]:
    """Every object inside a schema (schemas and data alike), the schema itself first."""
    if isinstance(schema, dict):
        yield schema
        for value in schema.values():
            yield from walk(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from walk(value)


def errors(schema: dict[str, Any], instance: object) -> list[str]:
    return [error.message for error in jsonschema.Draft4Validator(schema).iter_errors(instance)]


@pytest.fixture(scope="module")
def order_schema() -> dict[str, Any]:
    schema = draft4_schema(OrderPlaced)
    jsonschema.Draft4Validator.check_schema(schema)
    return schema


def test_schema_passes_the_draft4_meta_schema_and_declares_draft4_at_the_top_only(
    order_schema: dict[str, Any],
) -> None:
    jsonschema.Draft4Validator.check_schema(order_schema)
    assert order_schema["$schema"] == DRAFT4_SCHEMA_URI
    nested = [node for node in walk(order_schema) if "$schema" in node]
    assert nested == [order_schema]


def test_defs_become_definitions_and_every_ref_points_into_them(
    order_schema: dict[str, Any],
) -> None:
    assert "$defs" not in order_schema
    assert {"LineItem", "Address", "Category", "Cat", "Dog", "Channel"} <= set(
        order_schema["definitions"]
    )
    refs = [node["$ref"] for node in walk(order_schema) if "$ref" in node]
    assert refs
    for ref in refs:
        assert ref.startswith("#/definitions/")
        assert ref.removeprefix("#/definitions/") in order_schema["definitions"]


def test_a_valid_event_dumped_by_the_model_passes_the_draft4_schema(
    order_schema: dict[str, Any],
) -> None:
    event = OrderPlaced.model_validate(VALID_ORDER).model_dump(mode="json", by_alias=True)
    assert errors(order_schema, event) == []
    assert errors(order_schema, VALID_ORDER) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"newBudget": 0}, "gt=0 violated (exclusiveMinimum)"),
        ({"kind": "order-cancelled"}, "wrong const"),
        ({"items": [{"sku": "SKU-1", "quantity": 0, "price": 1}]}, "gt=0 in a list item"),
        ({"items": [{"sku": "SKU-1", "quantity": 1, "price": 1_000_000}]}, "lt violated"),
        ({"items": [{"sku": "ab", "quantity": 1, "price": 1}]}, "min_length kept"),
        ({"items": [{"sku": "sku 1", "quantity": 1, "price": 1}]}, "pattern kept"),
        ({"items": [{"quantity": 1, "price": 1}]}, "missing required field of an item"),
        ({"tags": {"priority": "high"}}, "dict[str, int] value"),
        ({"position": [1.0, "north"]}, "tuple position type"),
        ({"position": [1.0, 2.0, 3.0]}, "tuple too long"),
        ({"position": [1.0]}, "tuple too short"),
        ({"channel": "pigeon"}, "enum.Enum value"),
        ({"shipping": {"postcode": "69001"}}, "$ref with a description still applies"),
        ({"billing": {"postcode": "69001"}}, "Optional model checked when present"),
        ({"category": {"name": "toys", "children": [{"children": []}]}}, "recursive model"),
        ({"pet": {"kind": "cat", "good": True}}, "union member"),
    ],
)
def test_an_event_the_model_rejects_fails_the_draft4_schema(
    order_schema: dict[str, Any], change: dict[str, Any], reason: str
) -> None:
    event = {**VALID_ORDER, **change}
    with pytest.raises(pydantic.ValidationError):
        OrderPlaced.model_validate(event)
    assert errors(order_schema, event), reason


@pytest.mark.parametrize("missing", ["orderId", "newBudget", "items", "shipping", "pet"])
def test_a_missing_required_field_fails_under_its_alias(
    order_schema: dict[str, Any], missing: str
) -> None:
    event = {key: value for key, value in VALID_ORDER.items() if key != missing}
    assert errors(order_schema, event) == [f"'{missing}' is a required property"]


def test_fields_are_named_by_their_alias(order_schema: dict[str, Any]) -> None:
    assert {"orderId", "newBudget", "placedAt"} <= set(order_schema["properties"])
    assert not {"order_id", "new_budget", "placed_at"} & set(order_schema["properties"])
    assert "newBudget" in order_schema["required"]


def test_const_becomes_a_one_value_enum(order_schema: dict[str, Any]) -> None:
    assert order_schema["properties"]["kind"]["enum"] == ["order-placed"]
    assert not [node for node in walk(order_schema) if "const" in node]


def test_numeric_exclusive_bounds_become_draft4_boolean_flags(
    order_schema: dict[str, Any],
) -> None:
    budget = order_schema["properties"]["newBudget"]
    assert (budget["minimum"], budget["exclusiveMinimum"]) == (0, True)
    price = order_schema["definitions"]["LineItem"]["properties"]["price"]
    assert price["minimum"] == 0
    assert "exclusiveMinimum" not in price
    assert (price["maximum"], price["exclusiveMaximum"]) == (1_000_000, True)


def test_the_stricter_of_an_inclusive_and_an_exclusive_bound_is_kept() -> None:
    class Bounded(BaseModel):
        low: Annotated[int, Field(ge=5), Field(gt=3)]
        high: Annotated[float, Field(le=10), Field(lt=10)]

    schema = draft4_schema(Bounded)
    jsonschema.Draft4Validator.check_schema(schema)
    assert schema["properties"]["low"]["minimum"] == 5
    assert "exclusiveMinimum" not in schema["properties"]["low"]
    assert schema["properties"]["high"]["exclusiveMaximum"] is True
    assert errors(schema, {"low": 4, "high": 9.5})
    assert errors(schema, {"low": 5, "high": 10})
    assert errors(schema, {"low": 5, "high": 9.5}) == []


def test_a_tuple_becomes_the_array_form_of_items(order_schema: dict[str, Any]) -> None:
    position = order_schema["properties"]["position"]
    assert position["items"] == [{"type": "number"}, {"type": "number"}]
    assert "prefixItems" not in position


def test_a_tuple_closed_with_items_false_gets_additional_items_false() -> None:
    def closed_without_max(schema: dict[str, Any]) -> None:
        del schema["maxItems"]
        schema["items"] = False

    class Pair(BaseModel):
        pair: tuple[int, str] = Field(json_schema_extra=closed_without_max)

    schema = draft4_schema(Pair)
    jsonschema.Draft4Validator.check_schema(schema)
    pair = schema["properties"]["pair"]
    assert pair["items"] == [{"type": "integer"}, {"type": "string"}]
    assert pair["additionalItems"] is False
    assert errors(schema, {"pair": [1, "a"]}) == []
    assert errors(schema, {"pair": [1, "a", 2]})


def test_a_tuple_with_an_items_schema_after_its_prefix_gets_additional_items() -> None:
    def strings_after(schema: dict[str, Any]) -> None:
        del schema["maxItems"]
        schema["items"] = {"type": "string", "examples": ["x"]}

    class Row(BaseModel):
        row: tuple[int, str] = Field(json_schema_extra=strings_after)

    schema = draft4_schema(Row)
    jsonschema.Draft4Validator.check_schema(schema)
    assert schema["properties"]["row"]["additionalItems"] == {"type": "string"}
    assert errors(schema, {"row": [1, "a", "b"]}) == []
    assert errors(schema, {"row": [1, "a", 2]})


def test_keywords_draft4_does_not_know_are_dropped_everywhere(
    order_schema: dict[str, Any],
) -> None:
    unknown = {"examples", "deprecated", "discriminator", "prefixItems", "$defs", "const"}
    source = OrderPlaced.model_json_schema(by_alias=True, mode="validation")
    assert unknown == {key for node in walk(source) for key in node} & unknown
    assert [node for node in walk(order_schema) if unknown & set(node)] == []


def test_annotations_and_string_constraints_are_kept(order_schema: dict[str, Any]) -> None:
    sku = order_schema["definitions"]["LineItem"]["properties"]["sku"]
    assert sku == {"minLength": 3, "pattern": r"^[A-Z0-9-]+$", "title": "Sku", "type": "string"}
    assert order_schema["properties"]["orderId"]["description"] == "The order's id."
    assert order_schema["properties"]["placedAt"]["format"] == "date-time"
    assert order_schema["properties"]["tags"]["default"] == {}
    assert order_schema["title"] == "OrderPlaced"


def test_extra_annotations_newer_than_draft4_are_dropped_but_x_extensions_kept() -> None:
    class Secret(BaseModel):
        secret: str = Field(
            json_schema_extra={
                "$comment": "internal",
                "readOnly": True,
                "writeOnly": True,
                "contentMediaType": "text/plain",
                "contentEncoding": "base64",
                "$id": "https://example.com/secret",
                "x-pii": True,
            }
        )

    schema = draft4_schema(Secret)
    jsonschema.Draft4Validator.check_schema(schema)
    assert schema["properties"]["secret"] == {"title": "Secret", "type": "string", "x-pii": True}


def test_a_ref_with_siblings_is_wrapped_in_all_of(order_schema: dict[str, Any]) -> None:
    assert order_schema["properties"]["shipping"] == {
        "allOf": [{"$ref": "#/definitions/Address"}],
        "description": "Where the order goes.",
    }
    assert order_schema["properties"]["channel"] == {
        "allOf": [{"$ref": "#/definitions/Channel"}],
        "default": "email",
    }
    siblings = [node for node in walk(order_schema) if "$ref" in node and len(node) > 1]
    assert siblings == []


def test_an_optional_field_admits_null_and_its_model(order_schema: dict[str, Any]) -> None:
    assert order_schema["properties"]["billing"]["anyOf"] == [
        {"$ref": "#/definitions/Address"},
        {"type": "null"},
    ]
    assert errors(order_schema, {**VALID_ORDER, "billing": {"city": "Nice"}}) == []
    assert errors(order_schema, {**VALID_ORDER, "billing": None}) == []


def test_a_recursive_root_model_references_itself_through_definitions() -> None:
    schema = draft4_schema(Category)
    jsonschema.Draft4Validator.check_schema(schema)
    assert schema["allOf"] == [{"$ref": "#/definitions/Category"}]
    tree = {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]}
    assert errors(schema, tree) == []
    assert errors(schema, {"name": "a", "children": [{"name": "b", "children": [{}]}]})
    assert errors(schema, {"name": "a", "parent": {"name": 1}})


def test_default_values_are_copied_as_data_not_converted() -> None:
    default = {"const": 1, "exclusiveMinimum": 5, "examples": [1], "prefixItems": []}

    class WithDefault(BaseModel):
        limits: dict[str, Any] = default

    schema = draft4_schema(WithDefault)
    jsonschema.Draft4Validator.check_schema(schema)
    assert schema["properties"]["limits"]["default"] == default
