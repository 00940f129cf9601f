"""AWS clients and resources a handler builds once, safe with records on several threads.

A handler usually caches its boto3 resource (``functools.cache``) so a warm container reuses it.
With ``max_workers`` above 1 that is wrong twice: building a client or resource from boto3's
default session is not thread-safe, and a boto3 *resource* must not be shared between threads.
:func:`per_thread` caches one per thread and builds each under one lock.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable
from typing import Generic, ParamSpec, TypeVar

__all__ = ["PerThread", "per_thread"]

P = ParamSpec("P")
T = TypeVar("T")

#: One lock for every build: boto3's default session is shared by them all.
_BUILD_LOCK = threading.Lock()


class PerThread(Generic[P, T]):
    """``factory``'s result per thread and arguments, built under a lock on first use."""

    def __init__(self, factory: Callable[P, T]) -> None:
        self._factory = factory
        self._local = threading.local()
        self._generation = 0
        functools.update_wrapper(self, factory)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        """Return the calling thread's result for these arguments, built on first use."""
        cache: dict[Hashable, T] | None = getattr(self._local, "cache", None)
        if cache is None or getattr(self._local, "generation", -1) != self._generation:
            cache = self._local.cache = {}
            self._local.generation = self._generation
        key = (args, tuple(sorted(kwargs.items())))
        if key not in cache:
            with _BUILD_LOCK:
                cache[key] = self._factory(*args, **kwargs)
        return cache[key]

    def cache_clear(self) -> None:
        """Forget every thread's results (tests: a new account, a new container)."""
        self._generation += 1


def per_thread(factory: Callable[P, T]) -> PerThread[P, T]:
    """Decorate a client or resource factory: one result per thread, built under a lock.

    Examples
    --------
    >>> import boto3
    >>> @per_thread
    ... def table(name: str):
    ...     return boto3.resource("dynamodb").Table(name)

    """
    return PerThread(factory)
