"""The consumer's configuration, read from the environment the construct sets.

Everything a consumer needs comes from environment variables (names in
:mod:`event_fanout.runtime.constants`), so handler code carries no configuration and the same code
runs in Lambda, in the local runner and in tests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from event_fanout.runtime.constants import (
    DEFAULT_IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
    DEFAULT_IDEMPOTENCY_KEY_PATH,
    DEFAULT_METRICS_NAMESPACE,
    ENV_CONSUMER_NAME,
    ENV_IDEMPOTENCY_EXPIRES_AFTER_SECONDS,
    ENV_IDEMPOTENCY_KEY_PATH,
    ENV_IDEMPOTENCY_KEY_PREFIX,
    ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH,
    ENV_IDEMPOTENCY_TABLE_NAME,
    ENV_POWERTOOLS_METRICS_NAMESPACE,
    ENV_POWERTOOLS_SERVICE_NAME,
)
from event_fanout.runtime.exceptions import RuntimeConfigError

__all__ = ["ConsumerSettings"]


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
            ``IDEMPOTENCY_TABLE_NAME`` is missing or the expiry is not a positive integer: without
            them duplicates cannot be suppressed, so no record is processed.

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
        name = env.get(ENV_CONSUMER_NAME, "").strip() or default_name
        return cls(
            consumer_name=name,
            table_name=table_name,
            key_path=env.get(ENV_IDEMPOTENCY_KEY_PATH, "").strip() or DEFAULT_IDEMPOTENCY_KEY_PATH,
            key_prefix=env.get(ENV_IDEMPOTENCY_KEY_PREFIX, "").strip() or name,
            expires_after_seconds=expires,
            payload_validation_path=env.get(ENV_IDEMPOTENCY_PAYLOAD_VALIDATION_PATH, "").strip(),
            service_name=env.get(ENV_POWERTOOLS_SERVICE_NAME, "").strip() or name,
            metrics_namespace=(
                env.get(ENV_POWERTOOLS_METRICS_NAMESPACE, "").strip() or DEFAULT_METRICS_NAMESPACE
            ),
        )
