"""Module ``__getattr__`` (PEP 562) for packages whose public names live in heavy submodules.

Both package roots that users import from need it: ``event_fanout`` (whose constructs import
aws_cdk, absent in Lambda) and ``event_fanout.runtime`` (whose consumer imports Powertools,
boto3 and pydantic, unwanted at synth time). Shipped in the runtime layer with the package root.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any


def lazy_exports(
    namespace: MutableMapping[str, Any], exports: Mapping[str, str]
) -> Callable[[str], Any]:
    """A ``__getattr__`` that imports an export's module on first use and caches the name.

    ``namespace`` is the package's ``globals()``; ``exports`` maps each public name to the
    module defining it.
    """
    package = namespace["__name__"]

    def module_getattr(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name), name)
        namespace[name] = value
        return value

    return module_getattr
