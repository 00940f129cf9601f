"""The typed EventBridge event a consumer receives, and how it is unwrapped from an SQS record.

EventBridge delivers the whole event (``id``, ``source``, ``detail-type``, ``time``, ``detail``)
as the SQS message body. The model builds on Powertools' parser model so the field names, aliases
and validation are the ones AWS documents, and adds typed ``detail`` plus the conventional
version/tenant/correlation fields events should carry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import (
    BaseModel,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from event_fanout.runtime.constants import EVENT_VERSION_FIELD
from event_fanout.runtime.exceptions import MalformedEventError, UnacceptedEventVersionError
from event_fanout.runtime.pydantic_errors import describe_validation_error

__all__ = [
    "CORRELATION_FIELDS",
    "TENANT_FIELDS",
    "VERSION_FIELDS",
    "AcceptedVersions",
    "DetailT",
    "EventBridgeEvent",
    "parse_sqs_body",
]

DetailT = TypeVar("DetailT")

#: Names looked up in ``detail`` (first present wins) for the event's schema/business version.
VERSION_FIELDS: tuple[str, ...] = ("version", "schemaVersion", "eventVersion")
#: Names looked up in ``detail`` for the tenant the event belongs to.
TENANT_FIELDS: tuple[str, ...] = ("tenantId", "tenant_id", "companyId", "company_id")
#: Names looked up in ``detail`` and then in ``detail.metadata`` for a cross-service correlation id.
CORRELATION_FIELDS: tuple[str, ...] = ("correlationId", "correlation_id")


def _as_mapping(detail: Any) -> Mapping[str, Any]:
    if isinstance(detail, BaseModel):
        return detail.model_dump(by_alias=True)
    if isinstance(detail, Mapping):
        return detail
    return {}


def _first_present(values: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = values.get(name)
        if value is not None:
            return str(value)
    return None


class EventBridgeEvent(EventBridgeModel, Generic[DetailT]):
    """An EventBridge event as a consumer sees it, with a typed ``detail``.

    Parametrize it with a pydantic model (``EventBridgeEvent[BudgetChanged]``) to have ``detail``
    validated; a record whose detail does not fit is reported failed instead of reaching the
    handler half-parsed. Unparametrized, ``detail`` is the raw JSON object.

    Examples
    --------
    >>> from pydantic import BaseModel
    >>> class Changed(BaseModel):
    ...     campaignId: int
    ...     version: int
    >>> event = EventBridgeEvent[Changed].model_validate({
    ...     "version": "0", "id": "e-1", "source": "ads.campaigns", "account": "123456789012",
    ...     "time": "2024-05-01T10:00:00Z", "region": "eu-west-1", "resources": [],
    ...     "detail-type": "CampaignBudgetChanged", "detail": {"campaignId": 7, "version": 2},
    ... })
    >>> event.detail.campaignId, event.event_version
    (7, '2')

    """

    detail: DetailT  # type: ignore[assignment]
    # The detail as sent: a typed detail model may drop the fields below (tenant, correlation id).
    _raw_detail: Mapping[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw_detail(
        cls, data: Any, handler: ModelWrapValidatorHandler[EventBridgeEvent[DetailT]]
    ) -> EventBridgeEvent[DetailT]:
        event = handler(data)
        detail = data.get("detail") if isinstance(data, Mapping) else None
        event._raw_detail = detail if isinstance(detail, Mapping) else _as_mapping(event.detail)
        return event

    @property
    def event_version(self) -> str | None:
        """Version of the business fact in ``detail`` (not the envelope's constant ``"0"``)."""
        return _first_present(self._raw_detail, VERSION_FIELDS)

    @property
    def tenant_id(self) -> str | None:
        """Tenant the event belongs to, when the producer included one."""
        return _first_present(self._raw_detail, TENANT_FIELDS)

    @property
    def correlation_id(self) -> str | None:
        """Correlation id set by the producer, from ``detail`` or ``detail.metadata``."""
        detail = self._raw_detail
        found = _first_present(detail, CORRELATION_FIELDS)
        metadata = detail.get("metadata")
        if found is None and isinstance(metadata, Mapping):
            found = _first_present(metadata, CORRELATION_FIELDS)
        return found


EventT = TypeVar("EventT", bound=EventBridgeEvent[Any])


def parse_sqs_body(
    body: str, message_id: str, model: type[EventT], versions: AcceptedVersions | None = None
) -> tuple[dict[str, Any], EventT]:
    """Unwrap an SQS message body into the raw and the typed EventBridge event.

    Both are returned because the idempotency key and payload hash are computed on the raw event
    (JMESPath over what EventBridge sent, independent of the consumer's model), while the handler
    gets the typed one.

    Parameters
    ----------
    body
        The SQS record's ``body``.
    message_id
        The SQS ``messageId``, only used to name the record in the error.
    model
        The event model: ``EventBridgeEvent[dict[str, Any]]``, ``EventBridgeEvent[MyDetail]``...
    versions
        The event type's versions the consumer accepts: an event of another version is refused
        before the model sees it (a v2 event must never be half-parsed as a v1).

    Returns
    -------
    tuple[dict[str, Any], EventT]
        The decoded JSON object and the validated model.

    Raises
    ------
    MalformedEventError
        The body is not JSON, not a JSON object, or not an EventBridge event matching ``model``;
        the message says which, so the log line explains why the record will reach the DLQ.
        :class:`UnacceptedEventVersionError` (a subclass) for a version not in ``versions``.

    Examples
    --------
    >>> raw, event = parse_sqs_body(
    ...     '{"version": "0", "id": "e-1", "source": "s", "account": "1", "region": "r",'
    ...     ' "time": "2024-05-01T10:00:00Z", "resources": [], "detail-type": "T", "detail": {}}',
    ...     "m-1",
    ...     EventBridgeEvent[dict[str, Any]],
    ... )
    >>> raw["id"], event.detail_type
    ('e-1', 'T')
    >>> parse_sqs_body("not json", "m-2", EventBridgeEvent[dict[str, Any]])
    Traceback (most recent call last):
    ...
    event_fanout.runtime.exceptions.MalformedEventError: SQS message m-2 is not a valid \
EventBridge event: body is not JSON (Expecting value at line 1 column 1)

    """
    try:
        raw = json.loads(body)
    except (TypeError, ValueError) as exc:
        reason = getattr(exc, "msg", str(exc))
        position = (
            f" at line {exc.lineno} column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise MalformedEventError(message_id, f"body is not JSON ({reason}{position})") from exc
    if not isinstance(raw, dict):
        raise MalformedEventError(
            message_id, f"body is a JSON {type(raw).__name__}, not an EventBridge event object"
        )
    typed = raw
    if versions is not None:
        versions.check(raw, message_id)
        detail = raw.get("detail")
        if isinstance(detail, Mapping) and EVENT_VERSION_FIELD in detail:
            # The stamp is the event type's, not the model's: a model that forbids extra
            # fields must still read its own type's events. The raw event keeps it.
            unstamped = {k: v for k, v in detail.items() if k != EVENT_VERSION_FIELD}
            typed = {**raw, "detail": unstamped}
    try:
        event = model.model_validate(typed)
    except ValidationError as exc:
        raise MalformedEventError(message_id, describe_validation_error(exc)) from exc
    if typed is not raw and isinstance(event, EventBridgeEvent):
        event._raw_detail = raw["detail"]  # the detail as sent, its version included
    return raw, event


@dataclass(frozen=True)
class AcceptedVersions:
    """The versions of one event type a consumer parses; any other is a failed record.

    An event without ``detail.eventVersion`` (or with ``null``) is version 1: it was published
    before its type had versions (or without the producer API), and version 1 is what events
    were then. A version that is not a JSON integer (``1.0``, ``true``, ``"1"``) is refused.
    """

    event_type: str
    versions: tuple[int, ...]

    def check(self, raw: Mapping[str, Any], message_id: str) -> None:
        """Raise :class:`UnacceptedEventVersionError` unless ``raw`` is of an accepted version."""
        detail = raw.get("detail")
        version = detail.get(EVENT_VERSION_FIELD) if isinstance(detail, Mapping) else None
        if version is None:
            version = 1
        if type(version) is not int or version not in self.versions:
            accepted = ", ".join(str(v) for v in self.versions)
            raise UnacceptedEventVersionError(
                message_id,
                f"{self.event_type} version {version!r} is not one this consumer accepts "
                f"({accepted}): publish a version it accepts, or deploy the consumer with "
                f"event_versions including {version!r} and a model that reads it",
                version=version,
            )
