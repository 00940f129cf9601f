"""Lambda's execution environments for one function: worker processes, one invocation each.

Lambda runs the batches of an SQS event source mapping concurrently, up to the mapping's
``MaximumConcurrency``, each in an execution environment of its own: a process with the
function's environment variables and module state, reused by later invocations (warm) and
started afresh (cold) when none is free. An invocation that runs past the function's timeout
is stopped and its environment discarded.

:class:`ExecutionEnvironments` does the same with ``multiprocessing``: up to ``size`` worker
processes, each loading the handler once and then running one invocation at a time; an
invocation past its timeout is killed with its process. Workers are started with the
``forkserver`` method where it exists (cheap, and safe in a parent that has threads), else with
``spawn``; what crosses to them (the function's description and the events) is plain data.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from event_fanout.local.invocation import (
    DeployedFunction,
    Outcome,
    code_on_path,
    invoke_handler,
    load_handler,
)

__all__ = ["ExecutionEnvironments"]

#: What the caller attaches to an invocation, to recognise it when it finishes.
Tag = TypeVar("Tag")

#: Extra seconds past the function's timeout before a running invocation is killed: Lambda's
#: timeout is measured on its side, this one on the parent's after sending the event.
_KILL_GRACE_SECONDS = 0.5


#: Imported once by the fork server, so an environment's cold start does not import them again
#: (as in the runner's own process, they then come from this virtualenv, not from the layers).
_PRELOAD = ["event_fanout.local.invocation", "event_fanout.runtime.consumer", "boto3"]


def _context() -> Any:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def _serve(connection: Connection, function: DeployedFunction, env: Mapping[str, str]) -> None:
    """An execution environment's process: the function's environment, then invocations."""
    os.environ.update(env)
    handler: Callable[..., Any] | None = None

    def loaded() -> Callable[..., Any]:
        nonlocal handler
        if handler is None:
            handler = load_handler(function)
        return handler

    with code_on_path(function):
        while True:
            try:
                event = connection.recv()
            except EOFError:
                return
            if event is None:
                return
            outcome = invoke_handler(function, loaded, event)
            try:
                connection.send(outcome)
            except Exception as error:  # a response that cannot cross back (not picklable)
                connection.send(
                    Outcome(None, f"response not serialisable: {error!r}", outcome.output, 0.0)
                )


@dataclass
class _Environment(Generic[Tag]):
    process: Any
    connection: Connection
    #: The running invocation: its tag and when it started (monotonic); None when idle.
    running: tuple[Tag, float] | None = None


@dataclass
class ExecutionEnvironments(Generic[Tag]):
    """Up to ``size`` concurrent invocations of ``function``, each in its own process.

    Parameters
    ----------
    function:
        The deployed function: handler, code, layers, timeout.
    env:
        The environment variables of every invocation (the function's and the runner's).
    size:
        The most invocations at once (the mapping's maximum concurrency, locally capped).

    """

    function: DeployedFunction
    env: Mapping[str, str]
    size: int
    _environments: list[_Environment[Tag]] = field(default_factory=list)

    @property
    def running(self) -> int:
        """Invocations running now."""
        return sum(1 for e in self._environments if e.running is not None)

    def has_capacity(self) -> bool:
        """Whether another invocation can start now."""
        return self.running < self.size

    def start(self, tag: Tag, event: Mapping[str, Any]) -> None:
        """Start ``event`` in an idle environment, or in a new one (a cold start)."""
        if not self.has_capacity():
            raise RuntimeError(f"{self.function.name}: all {self.size} environments are busy")
        idle = next((e for e in self._environments if e.running is None), None)
        if idle is None:
            idle = self._new_environment()
            self._environments.append(idle)
        idle.connection.send(dict(event))
        idle.running = (tag, time.monotonic())

    def connections(self) -> list[Connection]:
        """The connections of running invocations (for :func:`multiprocessing.connection.wait`)."""
        return [e.connection for e in self._environments if e.running is not None]

    def finished(self, ready: Iterable[object] = ()) -> list[tuple[Tag, Outcome]]:
        """The invocations that finished (their connection is in ``ready``) or timed out.

        A timed-out invocation's process is killed and its environment dropped (the next
        invocation starts a new one), as is one whose process died.
        """
        ready_set = set(map(id, ready))
        results: list[tuple[Tag, Outcome]] = []
        for environment in list(self._environments):
            if environment.running is None:
                continue
            tag, started = environment.running
            elapsed = time.monotonic() - started
            if id(environment.connection) in ready_set:
                try:
                    outcome: Outcome = environment.connection.recv()
                except EOFError:
                    outcome = Outcome(None, "execution environment exited", "", elapsed)
                    self._discard(environment)
                else:
                    environment.running = None
                results.append((tag, outcome))
            elif elapsed > self.function.timeout_seconds + _KILL_GRACE_SECONDS:
                self._discard(environment)
                message = f"Task timed out after {self.function.timeout_seconds} seconds"
                output = f"[local-runner] {message}\n"
                results.append((tag, Outcome(None, message, output, elapsed)))
        return results

    def wait(self, timeout: float) -> list[tuple[Tag, Outcome]]:
        """Wait up to ``timeout`` seconds for an invocation to finish; return those that did."""
        connections = self.connections()
        if not connections:
            return []
        return self.finished(wait(connections, timeout=timeout))

    def close(self) -> None:
        """Stop every environment (a running invocation is killed)."""
        for environment in list(self._environments):
            if environment.running is None:
                with contextlib.suppress(OSError):
                    environment.connection.send(None)
                environment.process.join(timeout=2)
            self._discard(environment)

    def _new_environment(self) -> _Environment[Tag]:
        context = _context()
        parent, child = context.Pipe()
        process = context.Process(
            target=_serve,
            args=(child, self.function, dict(self.env)),
            name=f"lambda-{self.function.name}",
            daemon=True,
        )
        process.start()
        child.close()
        return _Environment(process=process, connection=parent)

    def _discard(self, environment: _Environment[Tag]) -> None:
        if environment.process.is_alive():
            environment.process.kill()
        environment.process.join(timeout=2)
        environment.connection.close()
        self._environments.remove(environment)
