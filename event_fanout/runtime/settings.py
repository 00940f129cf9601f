"""The consumer's configuration, read from the environment the construct sets.

Everything a consumer needs comes from environment variables (names in
:mod:`event_fanout.runtime.constants`), so handler code carries no configuration and the same code
runs in Lambda, in the local runner and in tests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import jmespath
from jmespath.exceptions import JMESPathError

from event_fanout.runtime.constants import (
    DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
    DEFAULT_IDEMPOTENCY_KEY_PATH,
    DEFAULT_METRICS_NAMESPACE,
    ENV_CONSUMER_NAME,
    ENV_DEAD_LETTER_QUEUE_URL,
    ENV_EVENT_TYPE,
    ENV_EVENT_VERSIONS,
    ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
    ENV_IDEMPOTENCY_KEY_PATH,
    ENV_IDEMPOTENCY_KEY_PREFIX,
    ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH,
    ENV_IDEMPOTENCY_TABLE_NAME,
    ENV_MAX_RECEIVE_COUNT,
    ENV_MAX_WORKERS,
    ENV_METRICS_SERVICE,
    ENV_POWERTOOLS_METRICS_NAMESPACE,
    ENV_POWERTOOLS_SERVICE_NAME,
    ENV_TRACING,
)
from event_fanout.runtime.exceptions import RuntimeConfigError

__all__ = ["ConsumerSettings"]


def _checked_jmespath(variable: str, expression: str) -> str:
    """Return ``expression`` if it parses, else name the variable, the value and the parse error.

    Powertools compiles its paths on the first record, where a parse error would surface as a
    failed record per message (logged as an unavailable table) instead of one configuration error.
    jmespath caches compiled expressions, so checking on every invocation is cheap.
    """
    try:
        jmespath.compile(expression)
    except JMESPathError as exc:
        raise RuntimeConfigError(
            f"{variable} is not a valid JMESPath expression, got {expression!r}: {exc}"
        ) from exc
    return expression


def _versions(raw: str) -> tuple[int, ...]:
    """``"1,2"`` -> ``(1, 2)``; a value that is not a list of positive integers is refused."""
    if not raw:
        return ()
    return tuple(_positive_int(ENV_EVENT_VERSIONS, part.strip()) for part in raw.split(","))


def _positive_int(variable: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value <= 0:
        raise RuntimeConfigError(f"{variable} must be a positive integer, got {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    """Resolved settings of one consumer; hashable so it can key the persistence-layer cache."""

    consumer_name: str
    table_name: str
    key_path: str
    key_prefix: str
    expires_after_seconds: int
    payload_validation_path: str
    service_name: str
    metrics_namespace: str
    #: The ``service`` dimension of the metrics: the fan-out's name, unique in the account, so
    #: consumers of the same name in two fan-outs (and their alarms) never share metrics.
    metrics_service: str = ""
    #: FIFO consumers only: the DLQ a failing record is moved to on its last receive, and the
    #: source queue's ``maxReceiveCount`` that says which receive is the last.
    dead_letter_queue_url: str | None = None
    max_receive_count: int | None = None
    #: One X-Ray subsegment per record (``EVENT_FANOUT_TRACING``).
    tracing: bool = False
    #: The event type (``<source>@<detail-type>``) and versions the construct declared
    #: (``EVENT_FANOUT_EVENT_TYPE``, ``EVENT_FANOUT_EVENT_VERSIONS``); empty when it declared none.
    event_type: str = ""
    event_versions: tuple[int, ...] = ()
    #: ``EVENT_FANOUT_MAX_WORKERS``: threads per batch when the handler sets none (None: unset).
    max_workers: int | None = None

    @classmethod
    def from_env(
        cls, default_name: str, environ: Mapping[str, str] | None = None
    ) -> ConsumerSettings:
        """Read the settings, filling in the defaults the construct would have set.

        Parameters
        ----------
        default_name
            Consumer name used when ``EVENT_FANOUT_CONSUMER`` is unset (the decorator's ``name``
            or the handler's qualified name).
        environ
            Environment to read; ``os.environ`` when omitted.

        Returns
        -------
        ConsumerSettings
            The settings of this invocation.

        Raises
        ------
        RuntimeConfigError
            ``IDEMPOTENCY_TABLE_NAME`` is missing, the expiry is not a positive integer, the key
            or payload-validation path is not valid JMESPath, or the dead-letter queue URL comes
            without a positive ``EVENT_FANOUT_MAX_RECEIVE_COUNT``: records cannot be handled as
            configured, so none is processed.

        Examples
        --------
        >>> s = ConsumerSettings.from_env("Audit", {"IDEMPOTENCY_TABLE_NAME": "audit-idem"})
        >>> s.key_path, s.key_prefix, s.expires_after_seconds
        ('id', 'Audit', 1209600)

        """
        env = os.environ if environ is None else environ
        table_name = env.get(ENV_IDEMPOTENCY_TABLE_NAME, "").strip()
        if not table_name:
            raise RuntimeConfigError(
                f"{ENV_IDEMPOTENCY_TABLE_NAME} is not set: the consumer needs its idempotency "
                "table (the FanoutConsumer construct sets it; set it yourself when running the "
                "handler elsewhere)"
            )
        raw_expiry = env.get(ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS, "").strip()
        try:
            expires = int(raw_expiry) if raw_expiry else DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS
        except ValueError:
            expires = -1
        if expires <= 0:
            raise RuntimeConfigError(
                f"{ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS} must be a positive number of seconds, "
                f"got {raw_expiry!r}"
            )
        key_path = _checked_jmespath(
            ENV_IDEMPOTENCY_KEY_PATH,
            env.get(ENV_IDEMPOTENCY_KEY_PATH, "").strip() or DEFAULT_IDEMPOTENCY_KEY_PATH,
        )
        validation_path = env.get(ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH, "").strip()
        if validation_path:
            _checked_jmespath(ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH, validation_path)
        dead_letter_queue_url = env.get(ENV_DEAD_LETTER_QUEUE_URL, "").strip() or None
        raw_max_receive = env.get(ENV_MAX_RECEIVE_COUNT, "").strip()
        max_receive_count = (
            _positive_int(ENV_MAX_RECEIVE_COUNT, raw_max_receive) if raw_max_receive else None
        )
        if dead_letter_queue_url and max_receive_count is None:
            # Without it the runtime cannot tell a record's last receive; the construct sets both.
            raise RuntimeConfigError(
                f"{ENV_MAX_RECEIVE_COUNT} must be set with {ENV_DEAD_LETTER_QUEUE_URL}: it is the "
                "source queue's maxReceiveCount, which tells a record's last receive; got nothing"
            )
        name = env.get(ENV_CONSUMER_NAME, "").strip() or default_name
        service_name = env.get(ENV_POWERTOOLS_SERVICE_NAME, "").strip() or name
        return cls(
            consumer_name=name,
            table_name=table_name,
            key_path=key_path,
            key_prefix=env.get(ENV_IDEMPOTENCY_KEY_PREFIX, "").strip() or name,
            expires_after_seconds=expires,
            payload_validation_path=validation_path,
            service_name=service_name,
            metrics_service=env.get(ENV_METRICS_SERVICE, "").strip() or service_name,
            metrics_namespace=(
                env.get(ENV_POWERTOOLS_METRICS_NAMESPACE, "").strip() or DEFAULT_METRICS_NAMESPACE
            ),
            dead_letter_queue_url=dead_letter_queue_url,
            max_receive_count=max_receive_count,
            tracing=env.get(ENV_TRACING, "").strip().lower() == "true",
            event_type=env.get(ENV_EVENT_TYPE, "").strip(),
            event_versions=_versions(env.get(ENV_EVENT_VERSIONS, "").strip()),
            max_workers=(
                _positive_int(ENV_MAX_WORKERS, raw_workers)
                if (raw_workers := env.get(ENV_MAX_WORKERS, "").strip())
                else None
            ),
        )
