"""A FIFO consumer whose effect records the order it ran in; a step marked poison always fails."""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from pydantic import BaseModel

from event_fanout.runtime import EventBridgeEvent, fanout_consumer


class Step(BaseModel):
    """``detail`` of ``fifo.poison`` / ``StepTaken``."""

    step: int
    poison: bool = False


@functools.cache
def _table(name: str) -> Any:
    return boto3.resource("dynamodb").Table(name)


@fanout_consumer(name="Steps")
def handler(event: EventBridgeEvent[Step]) -> None:
    """Count each step's effects and stamp them with a global sequence number."""
    if event.detail.poison:
        raise ValueError(f"step {event.detail.step} is poison")
    table = _table(os.environ["EFFECTS_TABLE_NAME"])
    sequence = table.update_item(
        Key={"effectKey": "sequence"},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": 1},
        ReturnValues="UPDATED_NEW",
    )["Attributes"]["n"]
    table.update_item(
        Key={"effectKey": f"step#{event.detail.step}"},
        UpdateExpression="ADD times :one SET ranAt = :sequence",
        ExpressionAttributeValues={":one": 1, ":sequence": sequence},
    )
