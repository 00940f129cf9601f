"""Fix for the envelope of the events moto delivers to targets (``event_account_field``)."""

from __future__ import annotations

from event_fanout.local.moto_compat.guards import (
    MOTO_VERSION,
    CompatFix,
    MotoCompatError,
)

# -- event_account_field ---------------------------------------------------------------------

_MOTO_DEFAULT_INPUT_TEMPLATE = (
    '{"id": "<id>", "time": <time>, "version": "0", "detail-type": "<detail-type>", '
    '"source": "<source>", "region": "<region>", "resources": <resources>, "detail": <detail>}'
)
#: EventBridge's envelope as delivered to a target without an input transformer.
_FULL_INPUT_TEMPLATE = (
    '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
    '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
    '"detail": <detail>}'
)


def _check_event_account_field() -> None:
    from moto.events.utils import EventTemplateParser

    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    paths = EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP
    if template not in (_MOTO_DEFAULT_INPUT_TEMPLATE, _FULL_INPUT_TEMPLATE):
        raise MotoCompatError(
            "moto compatibility fix 'event_account_field': moto's default event input template "
            f"changed (written against moto {MOTO_VERSION}): {template}"
        )
    if paths.get("account") != "$.account":
        raise MotoCompatError(
            "moto compatibility fix 'event_account_field': moto's input paths map has no "
            "account path"
        )


def _apply_event_account_field() -> None:
    from moto.events.utils import EventTemplateParser

    EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = _FULL_INPUT_TEMPLATE


#: The fixes of this module, in the order they are checked and applied.
FIXES: tuple[CompatFix, ...] = (
    CompatFix(
        "event_account_field",
        "events delivered to targets lack the envelope's account field",
        _check_event_account_field,
        _apply_event_account_field,
    ),
)
