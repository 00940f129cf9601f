"""The local AWS emulator: moto's server with the compatibility fixes, in its own process.

Run as ``python -m event_fanout.local.server --port 0``: it applies
:mod:`event_fanout.local.moto_compat` (fails fast if moto changed), binds 127.0.0.1, prints
one ``READY <port>`` line and serves until SIGTERM/SIGINT. :class:`LocalAws` starts and stops
that process from Python; clients reach it through ``AWS_ENDPOINT_URL=http://localhost:<port>``
(moto reads the bucket out of the CDK CLI's S3 template URL only under the host ``localhost``).

moto's own ``moto_server`` serves its application with werkzeug's development server, which
starts a thread per request and closes every connection (no keep-alive). Here the same moto
application is served by waitress: a fixed pool of threads and HTTP/1.1 keep-alive, so a
client's connection is reused across calls. That cuts the emulator's own CPU per request by
about a sixth, which is most of what a 1,000-event fault run waits for.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: moto's default account: everything the emulator creates lives here.
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "eu-west-1"
HOST = "127.0.0.1"
READY_PREFIX = "READY "
#: Requests served at once. The local runner polls with one thread; the CDK CLI and boto3 open
#: a few connections each. A long poll (``WaitTimeSeconds``) holds a thread while it waits, so
#: there is room for several clients polling at the same time.
SERVER_THREADS = 16
#: Open connections the emulator accepts (waitress's default is 100).
SERVER_CONNECTION_LIMIT = 500
#: An idle kept-alive connection is closed after this long (clients reconnect transparently).
IDLE_CONNECTION_TIMEOUT_SECONDS = 60


class LocalAwsError(RuntimeError):
    """The emulator could not start (port busy, moto mismatch) or died."""


def aws_environment(endpoint_url: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """Environment variables that point boto3, the CDK CLI and the CDK app at the emulator.

    Fake credentials keep every SDK from looking for real ones; ``CDK_DEFAULT_*`` give the
    app a concrete environment (the stack reads them) without an STS round trip.
    """
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "CDK_DEFAULT_ACCOUNT": ACCOUNT_ID,
        "CDK_DEFAULT_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }


def port_is_free(port: int) -> bool:
    """Whether ``127.0.0.1:port`` can be bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


@dataclass
class LocalAws:
    """A moto server subprocess; a context manager that always stops it.

    Parameters
    ----------
    port:
        0 picks a free port (the server binds it and reports it, so there is no race).
    region:
        Region clients use.
    log_path:
        Where the server's request log goes (default: discarded).

    """

    port: int = 0
    region: str = DEFAULT_REGION
    log_path: Path | None = None
    start_timeout: float = 30.0
    process: subprocess.Popen[str] | None = field(default=None, init=False)

    @property
    def endpoint_url(self) -> str:
        """``http://localhost:<port>``: the name the CDK CLI's S3 URLs must use for moto."""
        return f"http://localhost:{self.port}"

    @property
    def environment(self) -> dict[str, str]:
        """Environment for clients of this emulator (see :func:`aws_environment`)."""
        return aws_environment(self.endpoint_url, self.region)

    def start(self) -> LocalAws:
        """Start the server and wait for its ``READY`` line; raise :class:`LocalAwsError`."""
        if self.port and not port_is_free(self.port):
            raise LocalAwsError(
                f"port {self.port} on {HOST} is busy: stop what uses it "
                f"(`lsof -i :{self.port}`) or pick another port (0 = any free port)"
            )
        with contextlib.ExitStack() as stack:
            log: Any = subprocess.DEVNULL
            if self.log_path is not None:
                log = stack.enter_context(self.log_path.open("a"))
            self.process = subprocess.Popen(
                [sys.executable, "-m", "event_fanout.local.server", "--port", str(self.port)],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.port = self._wait_ready()
        return self

    def _wait_ready(self) -> int:
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line = self.process.stdout.readline()
                if line.startswith(READY_PREFIX):
                    return int(line[len(READY_PREFIX) :].strip())
                if line.startswith("ERROR "):
                    self.stop()
                    raise LocalAwsError(line[len("ERROR ") :].strip())
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise LocalAwsError(
                    f"the moto server exited with code {code} before it was ready"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
        self.stop()
        raise LocalAwsError(f"the moto server was not ready within {self.start_timeout:.0f} s")

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 10 s). Safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()

    def is_healthy(self) -> bool:
        """Whether the server answers HTTP (moto's dashboard-free health route)."""
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=2):
                return True
        except (urllib.error.URLError, OSError):
            return False

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set ``os.environ`` entries for the duration of the block, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def serve(port: int) -> None:
    """Apply the compatibility fixes, bind ``127.0.0.1:port`` and serve until signalled."""
    from event_fanout.local import moto_compat

    try:
        fixes = moto_compat.apply_all()
    except moto_compat.MotoCompatError as error:
        print(f"ERROR {error}", flush=True)
        raise SystemExit(2) from error

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from waitress.server import TcpWSGIServer, create_server

    application = request_log(DomainDispatcherApplication(create_backend_app), sys.stderr)
    try:
        server = create_server(
            application,
            host=HOST,
            port=port,
            threads=SERVER_THREADS,
            ident="moto",
            # Kept-alive connections stay open while their boto3 client lives: a long demo or
            # test session holds many. Past the limit waitress stops accepting until one times
            # out, so the limit is well above what a session opens, and idle ones close sooner.
            connection_limit=SERVER_CONNECTION_LIMIT,
            channel_timeout=IDLE_CONNECTION_TIMEOUT_SECONDS,
            # poll() rather than select(): no 1,024-descriptor ceiling on open connections.
            asyncore_use_poll=True,
        )
    except OSError as error:
        reason = "is busy" if error.errno == errno.EADDRINUSE else f"failed: {error}"
        print(f"ERROR port {port} on {HOST} {reason}", flush=True)
        raise SystemExit(2) from error

    def shutdown(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    print(f"moto {_moto_version()} with compatibility fixes: {', '.join(fixes)}", file=sys.stderr)
    assert isinstance(server, TcpWSGIServer)  # one host, one port
    print(f"{READY_PREFIX}{int(server.getsockname()[1])}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def request_log(application: WSGIApplication, stream: TextIO) -> WSGIApplication:
    """Wrap ``application`` so each request leaves one line in ``stream``: method, path, status.

    The emulator's log is where a user looks when a deploy or a delivery goes wrong; waitress
    keeps no access log of its own.
    """

    def logged(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            target = environ.get("PATH_INFO", "")
            query = environ.get("QUERY_STRING")
            stream.write(
                f"{environ.get('REQUEST_METHOD')} {target}{'?' + query if query else ''} "
                f"{status.split(' ', 1)[0]} {environ.get('HTTP_X_AMZ_TARGET', '')}".rstrip()
                + "\n"
            )
            return start_response(status, headers, exc_info)

        return application(environ, start)

    return logged


def _moto_version() -> str:
    import moto

    return str(moto.__version__)


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m event_fanout.local.server``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 = any free port (default)")
    args = parser.parse_args(argv)
    serve(args.port)


if __name__ == "__main__":
    main()
