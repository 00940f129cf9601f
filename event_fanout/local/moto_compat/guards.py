"""What every fix relies on: moto's version, the fingerprint guards, and the fix record."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The moto release every fix was written and tested against.
MOTO_VERSION = "5.2.5"


class MotoCompatError(RuntimeError):
    """moto is not the version (or no longer has the shape) a compatibility fix was written for."""


@dataclass(frozen=True)
class CompatFix:
    """One bridged gap: ``check`` raises if moto changed under it, ``apply`` patches moto.

    Attributes
    ----------
    name:
        Short identifier, printed by the server at start.
    problem:
        What goes wrong without the fix (one line).
    check:
        Raises :class:`MotoCompatError` when moto no longer has the shape the fix expects.
    apply:
        Patches moto in this process. Idempotent.

    """

    name: str
    problem: str
    check: Callable[[], None]
    apply: Callable[[], None]


def fingerprint(function: Callable[..., Any]) -> str:
    """First 16 hex digits of the SHA-256 of a function's source: changes when moto edits it."""
    source = inspect.getsource(inspect.unwrap(function))
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def require_fingerprint(function: Callable[..., Any], expected: str, fix: str) -> None:
    """Raise :class:`MotoCompatError` if ``function``'s source is not the one ``fix`` patches."""
    actual = fingerprint(function)
    if actual != expected:
        raise MotoCompatError(
            f"moto compatibility fix {fix!r}: {function.__qualname__} changed (source fingerprint "
            f"{actual}, written against {expected} in moto {MOTO_VERSION}). Check whether moto "
            "fixed the bug; then drop the fix or re-verify it and update the fingerprint."
        )


def require_model_absent(resource_type: str, fix: str) -> None:
    """Raise if moto gained a CloudFormation model for ``resource_type`` (the fix would clash)."""
    from moto.cloudformation import parsing

    model = parsing.get_model_map().get(resource_type)
    if model is not None and not getattr(model, "_event_fanout_compat", False):
        raise MotoCompatError(
            f"moto compatibility fix {fix!r}: moto now has a CloudFormation model for "
            f"{resource_type} ({model.__module__}.{model.__qualname__}); drop this fix and "
            "check the deployed stack again."
        )


def require_parameters(function: Callable[..., Any], names: tuple[str, ...], fix: str) -> None:
    """Raise if ``function`` no longer takes the keyword arguments ``fix`` passes it."""
    missing = set(names) - set(inspect.signature(function).parameters)
    if missing:
        raise MotoCompatError(
            f"moto compatibility fix {fix!r}: {function.__qualname__} no longer takes "
            f"{sorted(missing)} (written against moto {MOTO_VERSION})."
        )
