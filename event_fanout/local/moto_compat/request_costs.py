"""Fixes for what makes moto's server slow with deep queues and many requests (not bugs).

``sqs_fast_clock``, ``sqs_retention_lookup``, ``events_input_path_cache``,
``sqs_counts_in_one_pass`` and ``server_backend_lookup``: each keeps moto's results and only
changes how they are computed; each is guarded by the fingerprint of what it replaces.
"""

from __future__ import annotations

import functools
import json
import time
from typing import Any

from event_fanout.local.moto_compat.guards import CompatFix, MotoCompatError, require_fingerprint

# -- sqs_fast_clock ----------------------------------------------------------------------------


def _fast_unix_time_millis(dt: Any = None) -> float:
    """Return moto's ``unix_time_millis``, without datetime arithmetic for ``dt=None``."""
    if dt is None:
        return time.time() * 1000.0
    from moto.core.utils import unix_time_millis

    return float(unix_time_millis(dt))


def _check_sqs_fast_clock() -> None:
    from moto.core import utils
    from moto.sqs import models

    require_fingerprint(utils.unix_time_millis, "7a37e1337d02962e", "sqs_fast_clock")
    require_fingerprint(utils.unix_time, "f0576ec9e5f586e5", "sqs_fast_clock")
    current = getattr(models, "unix_time_millis", None)
    if current not in (utils.unix_time_millis, _fast_unix_time_millis):
        raise MotoCompatError(
            "moto compatibility fix 'sqs_fast_clock': moto.sqs.models no longer uses "
            "moto.core.utils.unix_time_millis"
        )


def _apply_sqs_fast_clock() -> None:
    from moto.sqs import models

    setattr(models, "unix_time_millis", _fast_unix_time_millis)  # noqa: B010 - not re-exported


# -- sqs_retention_lookup ----------------------------------------------------------------------


def _retention_from_queue(self: Any, queue_name: str, message: Any) -> bool:
    """Whether ``message`` is still within its queue's retention period (moto's semantics)."""
    retention_period = int(self.get_queue(queue_name).message_retention_period)
    return bool(retention_period + message.sent_timestamp / 1000 > time.time())


def _check_sqs_retention_lookup() -> None:
    from moto.sqs.models import SQSBackend

    current = SQSBackend.is_message_valid_based_on_retention_period
    if current is not _retention_from_queue:
        require_fingerprint(current, "cca23b94a5f3af9d", "sqs_retention_lookup")


def _apply_sqs_retention_lookup() -> None:
    from moto.sqs.models import SQSBackend

    SQSBackend.is_message_valid_based_on_retention_period = _retention_from_queue  # type: ignore[method-assign]


# -- events_input_path_cache -------------------------------------------------------------------

_INPUT_PATH_CACHE_SIZE = 1024


def _check_events_input_path_cache() -> None:
    from moto.events.utils import EventTemplateParser

    # The fingerprint pins the ``from jsonpath_ng.ext import parse`` inside the function.
    require_fingerprint(EventTemplateParser.parse, "40a5a46a321811bb", "events_input_path_cache")


def _apply_events_input_path_cache() -> None:
    import jsonpath_ng.ext

    parse = getattr(jsonpath_ng.ext, "parse")  # noqa: B009 - not re-exported for mypy
    if not hasattr(parse, "cache_info"):
        # EventTemplateParser.parse does ``from jsonpath_ng.ext import parse`` on every call, so
        # the module attribute is what it gets. Parsed paths are immutable: safe to share.
        cached = functools.lru_cache(maxsize=_INPUT_PATH_CACHE_SIZE)(parse)
        setattr(jsonpath_ng.ext, "parse", cached)  # noqa: B010 - not re-exported for mypy


# -- sqs_counts_in_one_pass -------------------------------------------------------------------

#: The attributes moto's ``Queue`` computes by scanning its messages, one scan each.
_MESSAGE_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
)


#: moto's definitions of the counts (and of ``messages``, the first one's scan).
_COUNT_FINGERPRINTS = {
    "messages": "03a531dbcbcf9aee",
    "approximate_number_of_messages": "d357a9506a56d2f8",
    "approximate_number_of_messages_delayed": "c3c1dadb0c42ed5f",
    "approximate_number_of_messages_not_visible": "5dbecc4dda174358",
}


def _message_counts(queue: Any) -> dict[str, int]:
    """The three message counts of ``queue``, from one scan (moto's definitions of each)."""
    ready = delayed = not_visible = 0
    for message in queue._messages:
        visible, is_delayed = message.visible, message.delayed
        ready += visible and not is_delayed
        delayed += is_delayed
        not_visible += not visible
    return dict(zip(_MESSAGE_COUNTS, (ready, delayed, not_visible), strict=True))


def _attributes_counted_once(self: Any) -> dict[str, Any]:
    """Return moto's ``Queue.attributes``, the message counts from one scan instead of three."""
    from moto.core.utils import camelcase_to_underscores

    counts = _message_counts(self)
    result: dict[str, Any] = {}
    for attribute in self.BASE_ATTRIBUTES:
        if attribute in counts:
            result[attribute] = counts[attribute]
        else:
            result[attribute] = getattr(self, camelcase_to_underscores(attribute))
    extra = []
    if self.fifo_queue:
        extra += self.FIFO_ATTRIBUTES
    if self.kms_master_key_id:
        extra += self.KMS_ATTRIBUTES
    for attribute in extra:
        result[attribute] = getattr(self, camelcase_to_underscores(attribute))
    if self.policy:
        result["Policy"] = self.policy
    if self.redrive_policy:
        result["RedrivePolicy"] = json.dumps(self.redrive_policy)
    for key, value in result.items():
        if isinstance(value, bool):
            result[key] = str(value).lower()
    return result


def _check_sqs_counts_in_one_pass() -> None:
    from moto.sqs.models import Queue

    fix = "sqs_counts_in_one_pass"
    attributes = Queue.attributes.fget  # type: ignore[attr-defined]
    if attributes is not _attributes_counted_once:
        require_fingerprint(attributes, "40cb990b121628d5", fix)
    # What the three counts mean (the scans the one pass replaces).
    for name, expected in _COUNT_FINGERPRINTS.items():
        require_fingerprint(getattr(Queue, name).fget, expected, fix)


def _apply_sqs_counts_in_one_pass() -> None:
    from moto.sqs.models import Queue

    Queue.attributes = property(_attributes_counted_once)  # type: ignore[assignment,method-assign]


# -- server_backend_lookup --------------------------------------------------------------------


def _check_server_backend_lookup() -> None:
    from moto import backends
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    fix = "server_backend_lookup"
    if not hasattr(backends.list_of_moto_modules, "cache_info"):
        require_fingerprint(backends.list_of_moto_modules, "4f741a10b06500e8", fix)
    # The caller: it only tests membership, so a cached tuple serves it.
    require_fingerprint(DomainDispatcherApplication.get_backend_for_host, "1f41972c1e4e660f", fix)


def _apply_server_backend_lookup() -> None:
    from moto import backends

    listing = backends.list_of_moto_modules
    if not hasattr(listing, "cache_info"):
        # moto's package directory does not change while the server runs.
        cached = functools.lru_cache(maxsize=1)(lambda: tuple(listing()))
        setattr(backends, "list_of_moto_modules", cached)  # noqa: B010 - not re-exported


#: The fixes of this module, in the order they are checked and applied.
FIXES: tuple[CompatFix, ...] = (
    CompatFix(
        "sqs_fast_clock",
        "ReceiveMessage costs about 1 ms per queued message (datetime-based clock)",
        _check_sqs_fast_clock,
        _apply_sqs_fast_clock,
    ),
    CompatFix(
        "sqs_retention_lookup",
        "ReceiveMessage is quadratic in queue depth (full attribute map per message)",
        _check_sqs_retention_lookup,
        _apply_sqs_retention_lookup,
    ),
    CompatFix(
        "events_input_path_cache",
        "PutEvents builds a JSONPath parser per input path per delivery",
        _check_events_input_path_cache,
        _apply_events_input_path_cache,
    ),
    CompatFix(
        "sqs_counts_in_one_pass",
        "SendMessage and GetQueueAttributes scan every queued message three times",
        _check_sqs_counts_in_one_pass,
        _apply_sqs_counts_in_one_pass,
    ),
    CompatFix(
        "server_backend_lookup",
        "every request lists moto's package directory to find its service",
        _check_server_backend_lookup,
        _apply_server_backend_lookup,
    ),
)
