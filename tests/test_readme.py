"""The README cannot drift from the code: documented defaults and the rejection catalogue."""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
from typing import Any

import pytest
from aws_cdk import Duration

from event_fanout import ConsumerAlarmOptions, EventFanout, EventFanoutConfigError, Idempotency
from event_fanout.constructs.options import ConsumerProps
from tests.builders import REPO_ROOT, new_stack
from tests.library.test_validation import CASES, _add

README = REPO_ROOT / "README.md"
UPDATE = os.environ.get("EVENT_FANOUT_UPDATE_DOCS") == "1"


def _documented(name: str) -> dict[str, str]:
    """Argument -> the Default cell of the README's table for ``name``."""
    text = README.read_text()
    match = re.search(rf"<!-- props:{name} -->\n(.*?)<!-- /props -->", text, re.S)
    assert match, f"README has no props table for {name}"
    rows = [line for line in match.group(1).splitlines() if line.startswith("| `")]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    return {c[0].strip("`"): c[2] for c in cells}


def _render(default: Any) -> str:
    if default is inspect.Parameter.empty or default is dataclasses.MISSING:
        return "required"
    if isinstance(default, Duration):
        return f"`{default.to_human_string()}`"
    if isinstance(default, Idempotency):
        return "`Idempotency()`"
    if default == ConsumerAlarmOptions():
        return "`ConsumerAlarmOptions()`"
    if isinstance(default, str):
        return f"`{default!r}`"
    return f"`{default!r}`"


def _signature_defaults(cls: type) -> dict[str, Any]:
    if dataclasses.is_dataclass(cls):
        return {f.name: f.default for f in dataclasses.fields(cls)}
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


@pytest.mark.parametrize("cls", [EventFanout, ConsumerProps, Idempotency], ids=lambda c: c.__name__)
def test_documented_arguments_and_defaults_match_the_code(cls: type) -> None:
    documented = _documented(cls.__name__)
    actual = _signature_defaults(cls)
    assert set(documented) == set(actual), "README arguments differ from the signature"
    for name, default in actual.items():
        cell = documented[name]
        assert cell.startswith(_render(default)), f"{cls.__name__}.{name}: README says {cell}"


def _catalogue() -> str:
    lines = [
        "| Case | Argument | Error message |",
        "| --- | --- | --- |",
    ]
    for case in CASES:
        stack = new_stack()
        with pytest.raises(EventFanoutConfigError) as caught:
            if case.build is not None:
                case.build(stack)
            else:
                _add(stack, case)
        message = str(caught.value).replace("|", "\\|")
        lines.append(f"| {case.id.replace('_', ' ')} | `{case.prop}` | {message} |")
    return "\n".join(lines) + "\n"


def check_marked_section(marker: str, expected: str, what: str) -> None:
    """Assert the README between ``<!-- marker -->`` and ``<!-- /marker -->`` is ``expected``.

    With ``EVENT_FANOUT_UPDATE_DOCS=1`` a stale section is rewritten instead.
    """
    text = README.read_text()
    pattern = re.compile(rf"(<!-- {marker} -->\n)(.*?)(<!-- /{marker} -->)", re.S)
    match = pattern.search(text)
    assert match, f"README has no {marker} markers"
    if UPDATE and match.group(2) != expected:
        README.write_text(pattern.sub(lambda m: m.group(1) + expected + m.group(3), text))
        return
    assert match.group(2) == expected, (
        f"README {what} is stale: run EVENT_FANOUT_UPDATE_DOCS=1 pytest tests/test_readme.py"
    )


def test_readme_catalogue_lists_every_rejected_configuration() -> None:
    check_marked_section("catalogue", _catalogue(), "catalogue")
    assert len(CASES) >= 25


def _nag_table() -> str:
    from event_fanout.constructs import nag_acknowledgements

    lines = ["| Resources | Rule | Reason |", "| --- | --- | --- |"]
    for resources, rules in nag_acknowledgements.ALL.items():
        for rule, reason in rules.items():
            lines.append(f"| {resources} | `{rule}` | {reason} |")
    return "\n".join(lines) + "\n"


def test_readme_lists_every_nag_acknowledgement_of_the_library() -> None:
    check_marked_section("nag", _nag_table(), "nag table")


def _docstring_defaults(cls: type) -> dict[str, str]:
    """Parameter -> the ``Default: ...`` sentence closing its entry in the class docstring."""
    doc = inspect.getdoc(cls) or ""
    section = doc.split("Parameters\n----------\n", 1)[1].split("\n\n", 1)[0]
    entries = re.findall(r"^(\w+):\n((?:    .*\n?)+)", section, re.M)
    defaults = {}
    for name, body in entries:
        text = " ".join(body.split())
        match = re.search(r"Default: (.*?)\.?$", text)
        defaults[name] = match.group(1) if match else ""
    return defaults


@pytest.mark.parametrize("cls", [EventFanout, ConsumerProps, Idempotency], ids=lambda c: c.__name__)
def test_docstrings_state_the_defaults_the_readme_and_the_code_do(cls: type) -> None:
    """Each default has one source (the code); the docstring and README repeat it alike."""
    documented = _documented(cls.__name__)
    in_docstring = _docstring_defaults(cls)
    assert set(in_docstring) == set(_signature_defaults(cls)), "docstring misses a parameter"
    for name, cell in documented.items():
        assert in_docstring[name].replace("`", "") == cell.replace("`", ""), (
            f"{cls.__name__}.{name}"
        )
