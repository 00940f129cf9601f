"""The JSON Schema Draft 4 of a pydantic model, for the EventBridge schema registry.

The registry stores ``JSONSchemaDraft4`` documents (and code generators read them as Draft 4),
while pydantic v2 writes Draft 2020-12. The two drafts spell several things differently: a
Draft 4 validator does not know ``$defs``, ``const``, numeric ``exclusiveMinimum`` or
``prefixItems``, so it would silently accept events the model rejects, or refuse the schema
outright. This module rewrites pydantic's output into the Draft 4 vocabulary, keyword by
keyword, so that both validate the same instances.

The walk is positional: only the places of a schema that hold schemas (``properties``,
``items``, ``anyOf`` ...) are converted. Values such as ``default`` and ``enum`` are event data,
and are copied untouched even when they happen to contain a key named ``const`` or ``$ref``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic

__all__ = ["DRAFT4_SCHEMA_URI", "draft4_schema"]

#: The ``$schema`` of a Draft 4 document (EventBridge's ``JSONSchemaDraft4``).
DRAFT4_SCHEMA_URI = "http://json-schema.org/draft-04/schema#"

#: Keywords copied as they are: Draft 4 gives them the meaning 2020-12 gives them.
_VERBATIM = frozenset(
    {
        "title",
        "description",
        "default",
        "format",
        "type",
        "enum",
        "multipleOf",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
    }
)
#: Keywords whose value is a map of names to schemas.
_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs")
#: Keywords whose value is a list of schemas.
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
#: Keywords whose value is a schema, or a boolean in Draft 4 as well.
_SCHEMA_OR_BOOLEAN = ("additionalProperties", "additionalItems")
#: Keywords handled on their own below (renamed, merged or rewritten).
_SPECIAL = frozenset(
    {
        "$ref",
        "not",
        "required",
        "const",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "items",
        "prefixItems",
        "dependencies",
        "dependentRequired",
        "dependentSchemas",
        *_SCHEMA_MAPS,
        *_SCHEMA_LISTS,
        *_SCHEMA_OR_BOOLEAN,
    }
)
#: What a schema that admits nothing is written as in Draft 4 (which has no boolean schemas).
_NOTHING: dict[str, Any] = {"not": {}}


def draft4_schema(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """The Draft 4 schema of ``model``, as the schema registry and its code generators read it.

    It starts from the schema pydantic validates with (``mode="validation"``), under the names
    events carry on the wire (``by_alias=True``), so that a producer's event validates against
    the registry's schema exactly when the model parses it.
    """
    source = model.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": DRAFT4_SCHEMA_URI, **_convert(source)}


def _convert(schema: object) -> dict[str, Any]:
    """One schema in Draft 4 terms; the recursion of the walk.

    2020-12 allows ``true`` and ``false`` as schemas anywhere, Draft 4 nowhere but
    ``additionalProperties`` and ``additionalItems``: they become ``{}`` (anything) and
    ``{"not": {}}`` (nothing).
    """
    if schema is True:
        return {}
    if schema is False:
        return dict(_NOTHING)
    if not isinstance(schema, Mapping):
        raise TypeError(f"a JSON schema is an object or a boolean, got {schema!r}")
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _VERBATIM:
            out[key] = value
        elif key == "$ref":
            out[key] = _draft4_ref(value)
        elif key in _SCHEMA_MAPS:
            definitions = out.setdefault("definitions" if key == "$defs" else key, {})
            definitions.update({name: _convert(sub) for name, sub in value.items()})
        elif key in _SCHEMA_LISTS:
            out.setdefault(key, []).extend(_convert(sub) for sub in value)
        elif key in _SCHEMA_OR_BOOLEAN:
            if key == "additionalProperties":  # additionalItems goes with the array form of items
                out[key] = value if isinstance(value, bool) else _convert(value)
        elif key == "not":
            out[key] = _convert(value)
        elif key == "required":
            if value:  # Draft 4's meta-schema wants at least one name
                out[key] = list(value)
        elif key.startswith("x-"):  # a vendor extension: every draft ignores it, tools read it
            out[key] = value
        # Anything else is dropped: an annotation Draft 4 does not have (examples, readOnly,
        # writeOnly, deprecated, $comment, contentMediaType, discriminator ...), or a newer
        # assertion it cannot express (contains, propertyNames, if/then/else, unevaluated*).
        # ``$schema`` and ``$id`` of an embedded schema are dropped too: Draft 4 has ``id``,
        # which would change how the ``$ref``s below it resolve.
    _convert_enum(schema, out)
    _convert_bound(schema, out, "minimum", "exclusiveMinimum", lower=True)
    _convert_bound(schema, out, "maximum", "exclusiveMaximum", lower=False)
    _convert_items(schema, out)
    _convert_dependencies(schema, out)
    if out.get("enum") == []:  # admits no value; Draft 4 requires a non-empty enum
        annotations: dict[str, Any] = {k: out[k] for k in ("title", "description") if k in out}
        return {**annotations, **_NOTHING}
    return _wrap_ref(out)


def _draft4_ref(ref: object) -> object:
    """A reference into ``$defs`` points into ``definitions`` (where Draft 4 keeps them)."""
    if isinstance(ref, str) and (ref == "#/$defs" or ref.startswith("#/$defs/")):
        return "#/definitions" + ref.removeprefix("#/$defs")
    return ref


def _convert_enum(schema: Mapping[str, Any], out: dict[str, Any]) -> None:
    """``const`` (2020-12) is a one-value ``enum`` (Draft 4).

    Beside an ``enum`` that does not list it, the schema admits nothing (an empty enum).
    """
    if "const" not in schema:
        return
    value = schema["const"]
    allowed = schema.get("enum")
    out["enum"] = [value] if allowed is None or value in allowed else []


def _convert_bound(
    schema: Mapping[str, Any],
    out: dict[str, Any],
    inclusive: str,
    exclusive: str,
    *,
    lower: bool,
) -> None:
    """A numeric ``exclusiveMinimum: n`` becomes ``minimum: n, exclusiveMinimum: true``.

    In Draft 4 the exclusive keyword is a flag on the inclusive one. When a schema carries both
    bounds, the stricter one is kept (the higher of two ``lower`` bounds, the lower of two upper
    ones); at a tie the exclusive bound is the stricter.
    """
    bound = schema.get(exclusive)
    if isinstance(bound, bool):  # already Draft 4's form; meaningless without the bound
        if bound and inclusive in out:
            out[exclusive] = True
        return
    if not isinstance(bound, int | float):
        return
    current = out.get(inclusive)
    if current is None or (bound >= current if lower else bound <= current):
        out[inclusive] = bound
        out[exclusive] = True


def _convert_items(schema: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Tuples: 2020-12's ``prefixItems`` + ``items`` are Draft 4's ``items`` + ``additionalItems``.

    In 2020-12 ``items`` is the schema of the items after the prefix (``false``: there are
    none); in Draft 4 an array-valued ``items`` is the prefix and ``additionalItems`` the rest.
    Without a prefix, ``items`` is the schema of every item in both drafts. A Draft 2019-09
    style array ``items`` with ``additionalItems`` is already Draft 4's form.
    """
    prefix = schema.get("prefixItems")
    items = schema.get("items")
    if prefix:
        out["items"] = [_convert(sub) for sub in prefix]
        rest = items if "items" in schema else schema.get("additionalItems", True)
        if rest is not True:
            out["additionalItems"] = rest if rest is False else _convert(rest)
    elif isinstance(items, list):
        out["items"] = [_convert(sub) for sub in items]
        rest = schema.get("additionalItems", True)
        if rest is not True:
            out["additionalItems"] = rest if rest is False else _convert(rest)
    elif "items" in schema:
        out["items"] = _convert(items)


def _convert_dependencies(schema: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Draft 4's ``dependencies`` holds what 2019-09 split into two keywords.

    ``dependentRequired`` (names) and ``dependentSchemas`` (schemas). A list of names must not
    be empty in Draft 4: an empty one requires nothing and is dropped.
    """
    merged: dict[str, Any] = {}
    sources = (schema.get("dependencies"), schema.get("dependentRequired"))
    for source in sources:
        for name, dependency in (source or {}).items():
            if isinstance(dependency, list):
                if dependency:
                    merged[name] = list(dependency)
            else:
                merged[name] = _convert(dependency)
    for name, dependency in (schema.get("dependentSchemas") or {}).items():
        merged[name] = _convert(dependency)
    if merged:
        out["dependencies"] = merged


def _wrap_ref(out: dict[str, Any]) -> dict[str, Any]:
    """A ``$ref`` with sibling keywords becomes ``allOf: [{"$ref": ...}]`` plus the siblings.

    Draft 4 ignores every keyword beside ``$ref``: pydantic's ``{"$ref": ..., "default": ...,
    "description": ...}`` of a model-typed field would lose them. Inside ``allOf`` the
    reference is one constraint among the others.
    """
    if "$ref" not in out or len(out) == 1:
        return out
    wrapped: dict[str, Any] = {}
    for key, value in out.items():
        if key == "$ref":
            wrapped["allOf"] = [{"$ref": value}, *out.get("allOf", [])]
        elif key != "allOf":
            wrapped[key] = value
    return wrapped
