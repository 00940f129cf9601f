"""One Lambda invocation: the handler from the deployed code, its context, environment, stdout.

Lambda gives each invocation the function's environment variables, ``/var/task`` and the layers
on ``sys.path``, a context that knows the deployed timeout, and sends stdout to CloudWatch Logs.
The local runner does the same here, either in its own process (one invocation at a time) or in
an execution environment's process (see :mod:`event_fanout.local.execution_environments`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = [
    "DeployedFunction",
    "LocalLambdaContext",
    "Outcome",
    "code_on_path",
    "environment",
    "invoke_handler",
    "load_handler",
    "stdout_router",
]


@dataclass(frozen=True)
class DeployedFunction:
    """A deployed Lambda function, as the runner needs it."""

    name: str
    arn: str
    handler: str
    environment: Mapping[str, str]
    timeout_seconds: int
    memory_mb: int
    code_dir: Path
    layer_dirs: tuple[Path, ...]


class LocalLambdaContext(LambdaContext):
    """The context Lambda passes, with the deployed function's name, memory and timeout."""

    def __init__(self, function: DeployedFunction) -> None:
        self._function_name = function.name
        self._function_version = "$LATEST"
        self._invoked_function_arn = function.arn
        self._memory_limit_in_mb = function.memory_mb
        self._aws_request_id = str(uuid.uuid4())
        self._log_group_name = f"/aws/lambda/{function.name}"
        self._log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]local"
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        """Milliseconds left before the deployed timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _StdoutRouter(io.TextIOBase):
    """``sys.stdout`` while the runner lives: invocation output goes to that invocation's log.

    Lambda sends a function's stdout to CloudWatch Logs; here it goes to a per-function log
    file, and the EMF metric lines the runtime prints are summed into :class:`MappingStats`.
    """

    def __init__(self, passthrough: TextIO) -> None:
        self.passthrough = passthrough
        self.local = threading.local()

    def write(self, text: str) -> int:
        target: io.StringIO | None = getattr(self.local, "buffer", None)
        if target is None:
            return self.passthrough.write(text)
        return target.write(text)

    def flush(self) -> None:
        self.passthrough.flush()

    @contextlib.contextmanager
    def capture(self) -> Iterator[io.StringIO]:
        buffer = io.StringIO()
        self.local.buffer = buffer
        try:
            yield buffer
        finally:
            self.local.buffer = None


_ROUTER: _StdoutRouter | None = None


def stdout_router() -> _StdoutRouter:
    """Install the stdout router once (before any handler is imported)."""
    global _ROUTER
    if _ROUTER is None or sys.stdout is not _ROUTER:
        _ROUTER = _StdoutRouter(sys.stdout)
        sys.stdout = _ROUTER
    return _ROUTER


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` added, restored afterwards (an in-process invocation)."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def code_on_path(function: DeployedFunction) -> Iterator[None]:
    """``/var/task`` first, then each layer's ``python/``, as Lambda orders them."""
    entries = [str(function.code_dir)] + [str(d / "python") for d in function.layer_dirs]
    saved = list(sys.path)
    sys.path[:0] = entries
    try:
        yield
    finally:
        sys.path[:] = saved


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Outcome:
    """What an invocation returned, as Lambda's poller sees it.

    ``response`` is the handler's return value (``None`` after an error); ``error`` the
    exception's ``repr`` when the handler raised (or, in an execution environment, was killed);
    ``output`` its stdout; ``seconds`` how long it ran.
    """

    response: Any
    error: str | None
    output: str
    seconds: float


def load_handler(function: DeployedFunction) -> Callable[..., Any]:
    """Import ``module.attr`` of the function's handler string from its code directory.

    The module gets a unique name: two functions may both have ``index.handler``.
    """
    module_path, _, attribute = function.handler.rpartition(".")
    source = function.code_dir / (module_path.replace(".", "/") + ".py")
    if not source.exists():
        raise FileNotFoundError(f"{function.name}: handler module {source} not found")
    module = _load_module(f"_local_lambda_{uuid.uuid4().hex}_{module_path}", source)
    handler: Callable[..., Any] = getattr(module, attribute)
    return handler


def invoke_handler(
    function: DeployedFunction,
    handler: Callable[[], Callable[..., Any]],
    event: Mapping[str, Any],
) -> Outcome:
    """Call the handler ``handler()`` returns with ``event`` and a context; capture its output.

    The caller has set the function's environment and ``sys.path``. ``handler`` is called inside
    the capture, so an import error of the handler's module fails this invocation (as Lambda's
    ``Runtime.ImportModuleError`` does) and its output lands in this invocation's log.
    """
    started = time.monotonic()
    with stdout_router().capture() as output:
        try:
            response = handler()(event, LocalLambdaContext(function))
        except Exception as error:  # Lambda: an error fails the whole batch
            print(f"[local-runner] invocation failed: {error!r}", file=output)
            return Outcome(None, repr(error), output.getvalue(), time.monotonic() - started)
    return Outcome(response, None, output.getvalue(), time.monotonic() - started)
