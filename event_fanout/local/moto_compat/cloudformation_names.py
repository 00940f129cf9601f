"""Fixes for how moto's CloudFormation names and references resources.

``event_bus_ref``, ``archive_event_pattern``, ``generated_name_length`` and
``sqs_generated_queue_name``: see the package docstring for what each bridges.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from event_fanout.local.moto_compat.guards import CompatFix, MotoCompatError, require_fingerprint

# -- shared: wrapping a model's CloudFormation create -----------------------------------------

#: Adjusts ``(resource_name, cloudformation_json)`` before moto's own create runs; returns the name.
CreateAdjustment = Callable[[str, Any], str]


def check_create(model: type[Any], expected: str, fix: str) -> None:
    """Require the source of ``model.create_from_cloudformation_json`` (unless already wrapped)."""
    create = model.create_from_cloudformation_json
    if not getattr(create, "_event_fanout_compat", False):
        require_fingerprint(create, expected, fix)


def wrap_create(model: type[Any], adjust: CreateAdjustment) -> None:
    """Run ``adjust`` before ``model``'s CloudFormation create; idempotent."""
    original = model.create_from_cloudformation_json
    if getattr(original, "_event_fanout_compat", False):
        return

    def create_from_cloudformation_json(
        cls: type[Any],
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        resource_name = adjust(resource_name, cloudformation_json)
        return original(resource_name, cloudformation_json, account_id, region_name, **kwargs)

    create_from_cloudformation_json._event_fanout_compat = True  # type: ignore[attr-defined]
    model.create_from_cloudformation_json = classmethod(
        create_from_cloudformation_json  # type: ignore[arg-type]
    )


def resource_properties(resource_json: dict[str, Any]) -> dict[str, Any]:
    """The ``Properties`` of a resolved resource (an empty dict when absent)."""
    props: dict[str, Any] = resource_json.get("Properties") or {}
    return props


# -- event_bus_ref ----------------------------------------------------------------------------


def _check_event_bus_ref() -> None:
    from moto.cloudformation import parsing
    from moto.events.models import EventBus

    require_fingerprint(parsing.clean_json, "9fbe5dedab810616", "event_bus_ref")
    if "physical_resource_id" in vars(EventBus) and not getattr(
        EventBus, "_event_fanout_compat", False
    ):
        raise MotoCompatError(
            "moto compatibility fix 'event_bus_ref': moto's EventBus now defines "
            "physical_resource_id; drop this fix."
        )


def _apply_event_bus_ref() -> None:
    from moto.events.models import EventBus

    def physical_resource_id(self: Any) -> str:
        """``Ref`` of ``AWS::Events::EventBus`` is the bus name, as in CloudFormation."""
        return str(self.name)

    EventBus.physical_resource_id = property(physical_resource_id)  # type: ignore[attr-defined]
    EventBus._event_fanout_compat = True  # type: ignore[attr-defined]


# -- archive_event_pattern --------------------------------------------------------------------

_ARCHIVE_CREATE_FINGERPRINT = "2a4d3f6e7393b970"


def _check_archive_event_pattern() -> None:
    from moto.events.models import Archive

    check_create(Archive, _ARCHIVE_CREATE_FINGERPRINT, "archive_event_pattern")


def _serialize_archive_pattern(resource_name: str, cloudformation_json: Any) -> str:
    """Serialize the pattern object to the JSON string the Archive model expects."""
    properties = cloudformation_json.get("Properties", {})
    pattern = properties.get("EventPattern")
    if isinstance(pattern, dict):
        properties["EventPattern"] = json.dumps(pattern)
    return resource_name


def _apply_archive_event_pattern() -> None:
    from moto.events.models import Archive

    wrap_create(Archive, _serialize_archive_pattern)


# -- generated_name_length ---------------------------------------------------------------------

#: Length limits of physical names, for the types the fan-out lets CloudFormation name.
NAME_LENGTH_LIMITS = {
    "AWS::Events::Archive": 48,
    "AWS::Events::Rule": 64,
    "AWS::Lambda::Function": 64,
    "AWS::IAM::Role": 64,
}


def _check_generated_name_length() -> None:
    from moto.cloudformation import parsing

    generate = parsing.generate_resource_name
    if getattr(generate, "_event_fanout_compat", False):
        return
    require_fingerprint(generate, "071e34cb73820599", "generated_name_length")


def _apply_generated_name_length() -> None:
    from moto.cloudformation import parsing

    original = parsing.generate_resource_name
    if getattr(original, "_event_fanout_compat", False):
        return

    def generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
        """Moto's name, with its ``<stack>-<logical id>`` prefix cut to the type's limit."""
        name: str = original(resource_type, stack_name, logical_id)
        limit = NAME_LENGTH_LIMITS.get(resource_type)
        return name if limit is None else shorten_generated_name(name, limit)

    generate_resource_name._event_fanout_compat = True  # type: ignore[attr-defined]
    parsing.generate_resource_name = generate_resource_name


def shorten_generated_name(name: str, limit: int) -> str:
    """A generated ``<stack>-<logical id>-<suffix>`` name within ``limit`` characters.

    The random suffix is what makes the name unique, so it is kept whole and the
    ``<stack>-<logical id>`` prefix is cut instead.
    """
    if len(name) <= limit:
        return name
    prefix, _, suffix = name.rpartition("-")
    return f"{prefix[: limit - len(suffix) - 1].rstrip('-')}-{suffix}"


# -- sqs_generated_queue_name ------------------------------------------------------------------

#: SQS's limit on queue names.
SQS_QUEUE_NAME_LIMIT = 80
_QUEUE_CREATE_FINGERPRINT = "a051c6777e201cf5"


def _check_sqs_generated_queue_name() -> None:
    from moto.sqs.models import Queue

    check_create(Queue, _QUEUE_CREATE_FINGERPRINT, "sqs_generated_queue_name")


def _shorten_generated_queue_name(resource_name: str, cloudformation_json: Any) -> str:
    """Shorten a generated queue name keeping its unique suffix (moto keeps the prefix).

    A FIFO queue's generated name ends in ``.fifo``, as CloudFormation makes it: moto generates
    it without, then refuses to create the queue ("Queue name must end in .fifo").
    """
    properties = resource_properties(cloudformation_json)
    if "QueueName" in properties:
        return resource_name
    return generated_queue_name(str(resource_name), fifo=_is_true(properties.get("FifoQueue")))


def generated_queue_name(name: str, *, fifo: bool) -> str:
    """``name`` within SQS's 80 characters, with the ``.fifo`` suffix a FIFO queue needs."""
    if not fifo:
        return shorten_generated_name(name, SQS_QUEUE_NAME_LIMIT)
    suffix = ".fifo"
    return shorten_generated_name(name, SQS_QUEUE_NAME_LIMIT - len(suffix)) + suffix


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _apply_sqs_generated_queue_name() -> None:
    from moto.sqs.models import Queue

    wrap_create(Queue, _shorten_generated_queue_name)


#: The fixes of this module, in the order they are checked and applied.
FIXES: tuple[CompatFix, ...] = (
    CompatFix(
        "event_bus_ref",
        "Ref to an AWS::Events::EventBus resolves to a Python object, so rules on it fail",
        _check_event_bus_ref,
        _apply_event_bus_ref,
    ),
    CompatFix(
        "archive_event_pattern",
        "AWS::Events::Archive passes its EventPattern object on unserialized",
        _check_archive_event_pattern,
        _apply_archive_event_pattern,
    ),
    CompatFix(
        "generated_name_length",
        "generated physical names exceed the resource's length limit (Archive: 48)",
        _check_generated_name_length,
        _apply_generated_name_length,
    ),
    CompatFix(
        "sqs_generated_queue_name",
        "generated queue names of a long-named (nested) stack collapse into one queue, and a "
        "generated FIFO queue name lacks .fifo",
        _check_sqs_generated_queue_name,
        _apply_sqs_generated_queue_name,
    ),
)
