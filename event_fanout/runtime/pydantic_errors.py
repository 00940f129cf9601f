"""A pydantic validation error in one line, for a log line, a DLQ reason or a producer's error.

Its own module, importing pydantic only: the producer side (``event_fanout.events``) uses it
without importing Powertools.
"""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["describe_validation_error"]


def describe_validation_error(error: ValidationError) -> str:
    """A pydantic error in one line: ``field.path: message`` for the first five problems."""
    problems = []
    for item in error.errors()[:5]:
        where = ".".join(str(part) for part in item["loc"]) or "<event>"
        problems.append(f"{where}: {item['msg']}")
    more = error.error_count() - len(problems)
    if more > 0:
        problems.append(f"and {more} more")
    return "; ".join(problems)
