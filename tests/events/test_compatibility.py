"""schema_changes: what a new version of an event's schema changes for the consumers parsing it."""

from __future__ import annotations

import enum
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from event_fanout.events.compatibility import SchemaChange, is_breaking, schema_changes
from event_fanout.events.draft4 import draft4_schema


def changes(old: type[BaseModel], new: type[BaseModel]) -> list[SchemaChange]:
    """The changes between two models, through the Draft 4 schemas the registry would store."""
    return schema_changes(draft4_schema(old), draft4_schema(new))


def only(found: list[SchemaChange]) -> SchemaChange:
    assert len(found) == 1, found
    return found[0]


class Status(enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class StatusWithoutEnded(enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"


class LineItem(BaseModel):
    sku: str
    quantity: int = Field(gt=0)


class LineItemWithoutSku(BaseModel):
    quantity: int = Field(gt=0)


class Address(BaseModel):
    city: str
    street: str | None = None


class Campaign(BaseModel):
    campaign_id: str = Field(alias="campaignId")
    new_budget: int = Field(alias="newBudget", gt=0)
    status: Status
    channel: Literal["email", "sms"]
    items: list[LineItem]
    tags: dict[str, int] = {}
    shipping: Address | None = None
    position: tuple[float, float]


class Category(BaseModel):
    name: str
    children: list[Category] = []
    parent: Category | None = None


class CategoryWithLabel(BaseModel):
    name: str
    label: str | None = None
    children: list[CategoryWithLabel] = []
    parent: CategoryWithLabel | None = None


class Catalog(BaseModel):
    root: Category


class CatalogWithLabels(BaseModel):
    root: CategoryWithLabel


def test_identical_schemas_have_no_change() -> None:
    assert changes(Campaign, Campaign) == []
    assert changes(Category, Category) == []


def test_a_baseline_read_back_from_json_compares_like_the_model() -> None:
    baseline = json.loads(json.dumps(draft4_schema(Campaign)))
    assert schema_changes(baseline, draft4_schema(Campaign)) == []


def test_an_added_optional_field_is_compatible() -> None:
    class Old(BaseModel):
        budget: int

    class New(BaseModel):
        budget: int
        note: str | None = Field(default=None, alias="campaignNote")

    change = only(changes(Old, New))
    assert change == SchemaChange(
        "campaignNote", "added-optional", False, "field 'campaignNote' was added as optional"
    )
    assert not is_breaking([change])


def test_an_added_required_field_is_breaking() -> None:
    class Old(BaseModel):
        budget: int

    class New(BaseModel):
        budget: int
        owner: str

    change = only(changes(Old, New))
    assert (change.path, change.kind, change.breaking) == ("owner", "added-required", True)
    assert "'owner'" in change.message


def test_a_removed_field_is_breaking() -> None:
    class Old(BaseModel):
        budget: int
        new_budget: int | None = Field(default=None, alias="newBudget")

    class New(BaseModel):
        budget: int

    change = only(changes(Old, New))
    assert change == SchemaChange("newBudget", "removed", True, "field 'newBudget' was removed")
    assert is_breaking([change])


def test_a_rename_is_a_removal_hinting_at_the_addition() -> None:
    class Old(BaseModel):
        budget: int = Field(alias="newBudget")

    class New(BaseModel):
        budget: int = Field(alias="totalBudget")

    removed, added = changes(Old, New)
    assert removed == SchemaChange(
        "newBudget", "removed", True, "field 'newBudget' was removed (renamed to 'totalBudget'?)"
    )
    assert (added.path, added.kind) == ("totalBudget", "added-required")


def test_no_rename_hint_when_the_added_field_has_another_type() -> None:
    class Old(BaseModel):
        budget: int

    class New(BaseModel):
        label: str

    removed = next(change for change in changes(Old, New) if change.kind == "removed")
    assert removed.message == "field 'budget' was removed"


def test_no_rename_hint_when_two_fields_are_added() -> None:
    class Old(BaseModel):
        budget: int

    class New(BaseModel):
        total: int
        spent: int

    removed = next(change for change in changes(Old, New) if change.kind == "removed")
    assert "renamed" not in removed.message


@pytest.mark.parametrize(
    ("old_type", "new_type", "message"),
    [
        (int, str, "field 'budget' changed type from integer to string"),
        (int, float, "field 'budget' changed type from integer to number"),
        (int, int | None, "field 'budget' changed type from integer to integer or null"),
        (str | None, str, "field 'budget' changed type from string or null to string"),
        (list[int], dict[str, int], "field 'budget' changed type from array to object"),
        (Any, int, "field 'budget' changed type from any to integer"),
    ],
)
def test_a_changed_json_type_is_breaking(old_type: Any, new_type: Any, message: str) -> None:
    class Old(BaseModel):
        budget: old_type

    class New(BaseModel):
        budget: new_type

    change = only(changes(Old, New))
    assert (change.path, change.kind, change.breaking, change.message) == (
        "budget",
        "type-changed",
        True,
        message,
    )


def test_an_optional_field_made_required_is_breaking() -> None:
    class Old(BaseModel):
        owner: str = ""

    class New(BaseModel):
        owner: str

    change = only(changes(Old, New))
    assert change == SchemaChange("owner", "made-required", True, "field 'owner' was made required")


def test_a_required_field_made_optional_is_breaking() -> None:
    class Old(BaseModel):
        owner: str

    class New(BaseModel):
        owner: str = "nobody"

    change = only(changes(Old, New))
    assert (change.path, change.kind, change.breaking) == ("owner", "made-optional", True)
    assert change.message.startswith("field 'owner' was made optional")


def test_enum_values_removed_is_breaking() -> None:
    class Old(BaseModel):
        status: Status

    class New(BaseModel):
        status: StatusWithoutEnded

    change = only(changes(Old, New))
    assert change == SchemaChange(
        "status", "enum-narrowed", True, "field 'status' no longer allows 'ended'"
    )


def test_enum_values_added_are_compatible() -> None:
    class Old(BaseModel):
        channel: Literal["email", "sms"]

    class New(BaseModel):
        channel: Literal["email", "sms", "push"]

    found = changes(Old, New)
    assert found == [
        SchemaChange("channel", "enum-widened", False, "field 'channel' now also allows 'push'")
    ]
    assert not is_breaking(found)


def test_a_const_replaced_by_another_is_narrowed_and_widened() -> None:
    class Old(BaseModel):
        version: Literal[1]

    class New(BaseModel):
        version: Literal[2]

    assert [(change.kind, change.message) for change in changes(Old, New)] == [
        ("enum-narrowed", "field 'version' no longer allows 1"),
        ("enum-widened", "field 'version' now also allows 2"),
    ]


def test_a_free_string_restricted_to_values_is_narrowed() -> None:
    class Old(BaseModel):
        channel: str

    class New(BaseModel):
        channel: Literal["email", "sms"]

    change = only(changes(Old, New))
    assert (change.kind, change.breaking) == ("enum-narrowed", True)
    assert change.message == "field 'channel' is now restricted to 'email', 'sms'"


def test_a_field_removed_in_the_items_of_a_list_is_breaking() -> None:
    class Old(BaseModel):
        items: list[LineItem]

    class New(BaseModel):
        items: list[LineItemWithoutSku]

    change = only(changes(Old, New))
    assert change == SchemaChange("items[].sku", "removed", True, "field 'items[].sku' was removed")


def test_a_field_of_an_optional_nested_model_is_compared_through_the_null_branch() -> None:
    class OldAddress(BaseModel):
        city: str

    class NewAddress(BaseModel):
        city: int

    class Old(BaseModel):
        shipping: OldAddress | None = None

    class New(BaseModel):
        shipping: NewAddress | None = Field(default=None, description="Where it goes.")

    change = only(changes(Old, New))
    assert (change.path, change.kind) == ("shipping.city", "type-changed")
    assert change.message == "field 'shipping.city' changed type from string to integer"


def test_map_values_are_compared_under_braces() -> None:
    class Old(BaseModel):
        tags: dict[str, int]

    class New(BaseModel):
        tags: dict[str, str]

    change = only(changes(Old, New))
    assert (change.path, change.kind, change.breaking) == ("tags{}", "type-changed", True)
    assert "'tags{}'" in change.message


def test_tuple_positions_are_compared_one_by_one() -> None:
    class Old(BaseModel):
        position: tuple[float, float]

    class New(BaseModel):
        position: tuple[float, str]

    change = only(changes(Old, New))
    assert (change.path, change.kind) == ("position[1]", "type-changed")


def test_descriptions_titles_defaults_formats_and_constraints_are_not_changes() -> None:
    class Old(BaseModel):
        budget: int = Field(default=1, description="The budget.", gt=0)
        name: str = Field(default="a", max_length=10)
        sent_at: str = Field(alias="sentAt")

    class New(BaseModel):
        """A docstring becomes the model's description."""

        budget: int = Field(default=5, description="The new budget, in cents.", ge=10, title="B")
        name: str = Field(default="b", min_length=1, pattern="^[a-z]+$")
        sent_at: str = Field(alias="sentAt", json_schema_extra={"format": "date-time"})

    assert changes(Old, New) == []


def test_model_class_renames_are_not_changes() -> None:
    class OldAddress(BaseModel):
        city: str

    class NewAddress(BaseModel):
        city: str

    class Old(BaseModel):
        shipping: OldAddress

    class New(BaseModel):
        shipping: NewAddress

    old, new = draft4_schema(Old), draft4_schema(New)
    assert set(old["definitions"]) != set(new["definitions"])
    assert schema_changes(old, new) == []


def test_refs_resolve_in_each_schemas_own_root() -> None:
    old = {
        "type": "object",
        "properties": {"shipping": {"$ref": "#/definitions/Address"}},
        "required": ["shipping"],
        "definitions": {"Address": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
    new = json.loads(json.dumps(old))
    new["definitions"]["Address"]["properties"]["city"] = {"type": "integer"}
    change = only(schema_changes(old, new))
    assert (change.path, change.kind) == ("shipping.city", "type-changed")


def test_a_recursive_model_does_not_loop_and_reports_a_change_once() -> None:
    assert changes(Category, CategoryWithLabel) == [
        SchemaChange("label", "added-optional", False, "field 'label' was added as optional")
    ]
    assert changes(Catalog, CatalogWithLabels) == [
        SchemaChange(
            "root.label", "added-optional", False, "field 'root.label' was added as optional"
        )
    ]
    assert only(changes(CategoryWithLabel, Category)).kind == "removed"


def test_changes_are_ordered_by_path_then_kind() -> None:
    class Old(BaseModel):
        zeta: int
        alpha: Literal["a", "b"]
        items: list[LineItem]

    class New(BaseModel):
        alpha: Literal["b", "c"]
        items: list[LineItemWithoutSku]
        beta: int = 0

    assert [(change.path, change.kind) for change in changes(Old, New)] == [
        ("alpha", "enum-narrowed"),
        ("alpha", "enum-widened"),
        ("beta", "added-optional"),
        ("items[].sku", "removed"),
        ("zeta", "removed"),
    ]


def test_a_mix_of_changes_is_breaking_when_any_one_is() -> None:
    class Old(BaseModel):
        campaign_id: str = Field(alias="campaignId")
        status: Status

    class New(BaseModel):
        campaign_id: str = Field(alias="campaignId")
        status: StatusWithoutEnded
        note: str = ""

    found = changes(Old, New)
    assert [change.breaking for change in found] == [False, True]
    assert is_breaking(found)
    assert not is_breaking(found[:1])
    assert not is_breaking([])
