"""An event type: declared once, published validated and version-stamped, schema'd for others."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft4Validator
from pydantic import BaseModel, Field

from event_fanout.events import EVENT_VERSION_FIELD, EventType, InvalidEventDetailError
from event_fanout.operations.route import to_envelope


class Detail(BaseModel):
    order_id: str
    amount: int = Field(gt=0)


ORDER_PLACED = EventType(source="shop.orders", detail_type="OrderPlaced", version=3, detail=Detail)


def test_a_published_event_is_validated_and_stamped_with_its_version() -> None:
    entry = ORDER_PLACED.entry(Detail(order_id="o-1", amount=12), resources=["arn:x"])
    assert (entry.source, entry.detail_type, entry.resources) == (
        "shop.orders",
        "OrderPlaced",
        ["arn:x"],
    )
    assert isinstance(entry.detail, str)
    assert json.loads(entry.detail) == {"order_id": "o-1", "amount": 12, EVENT_VERSION_FIELD: 3}
    # A mapping is validated against the model the same way.
    assert json.loads(ORDER_PLACED.entry({"order_id": "o-2", "amount": 1}).detail)["amount"] == 1  # type: ignore[arg-type]


def test_a_detail_that_does_not_fit_is_never_published() -> None:
    with pytest.raises(InvalidEventDetailError, match=r"shop.orders@OrderPlaced v3.*amount"):
        ORDER_PLACED.entry({"order_id": "o-1", "amount": 0})


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"version": 0}, "version must be an int from 1"),
        ({"version": True}, "version must be an int from 1"),
        ({"source": ""}, "needs a source and a detail_type"),
        ({"detail_type": "Order Placed"}, "letters, digits"),
        ({"detail": dict}, "must be a pydantic model class"),
    ],
)
def test_an_invalid_declaration_says_what_is_wrong(arguments: dict[str, Any], message: str) -> None:
    declared: dict[str, Any] = {
        "source": "shop.orders",
        "detail_type": "OrderPlaced",
        "version": 1,
        "detail": Detail,
        **arguments,
    }
    with pytest.raises((ValueError, TypeError), match=message):
        EventType(**declared)


def test_a_model_declaring_the_version_field_is_refused() -> None:
    class Stamped(BaseModel):
        eventVersion: int  # noqa: N815 (the wire name)

    with pytest.raises(ValueError, match="stamps itself"):
        EventType(source="s.x", detail_type="T", version=1, detail=Stamped)


def test_the_registry_schema_is_draft_4_and_admits_only_its_own_version() -> None:
    schema = ORDER_PLACED.registry_schema()
    Draft4Validator.check_schema(schema)
    validator = Draft4Validator(schema)
    event = to_envelope(ORDER_PLACED.entry({"order_id": "o-1", "amount": 5}).to_entry())
    assert list(validator.iter_errors(event)) == []
    older = {**event, "detail": {**event["detail"], EVENT_VERSION_FIELD: 2}}
    assert not validator.is_valid(older)
    other = {**event, "detail-type": "OrderCancelled"}
    assert not validator.is_valid(other)
    assert schema["title"] == "OrderPlaced" and schema["x-event-fanout-version"] == 3


def test_the_publisher_adds_the_correlation_id_to_a_typed_event() -> None:
    from event_fanout.producer import EventPublisher, correlation_id

    sent: list[dict[str, Any]] = []

    class Events:
        def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
            sent.extend(Entries)
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"} for _ in Entries]}

    with correlation_id("checkout-42"):
        EventPublisher(Events(), event_bus_name="orders").publish(
            [ORDER_PLACED.entry({"order_id": "o-1", "amount": 3})]
        )
    (entry,) = sent
    detail = json.loads(entry["Detail"])
    assert detail[EVENT_VERSION_FIELD] == 3 and detail["correlationId"] == "checkout-42"
