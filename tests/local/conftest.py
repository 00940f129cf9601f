"""Fixtures of the local-AWS tests: one emulator per session, always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from event_fanout.local.server import LocalAws


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    """A moto server (with the compatibility fixes) on a free port for the whole session."""
    log = Path(tmp_path_factory.mktemp("moto")) / "moto.log"
    with LocalAws(log_path=log) as aws:
        yield aws
