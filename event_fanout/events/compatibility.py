"""Which changes between two versions of an event's schema break the consumers that parse it.

A fan-out has one producer and many consumers, deployed on their own schedules: a consumer
built against yesterday's schema parses today's events, and a redriven DLQ or an archive replay
hands today's consumer yesterday's events. So a change is breaking when code written against
either version can fail on an event of the other: a field that disappears, appears as
required, changes its JSON type, changes whether it is always present, or loses enum values.
Only adding an optional field, or adding enum values, is compatible.

The comparison is structural and field by field, on the Draft 4 schemas
:func:`event_fanout.events.draft4.draft4_schema` writes (the ones the schema registry stores),
so a baseline kept as JSON next to the code can be compared with the model as it is now.
Descriptions, titles, defaults, formats and value constraints (lengths, bounds, patterns) are
not compared: they do not change what a parser has to cope with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

__all__ = ["ChangeKind", "SchemaChange", "is_breaking", "schema_changes"]

ChangeKind = Literal[
    "added-optional",
    "added-required",
    "removed",
    "type-changed",
    "made-required",
    "made-optional",
    "enum-narrowed",
    "enum-widened",
]


@dataclass(frozen=True)
class SchemaChange:
    """One field-level difference between the old and the new schema of an event detail.

    ``path`` names the field from the detail: ``address.city``, ``items[].sku`` for a field of
    the items of a list, ``tags{}`` for the values of a map (``""`` is the detail itself).
    ``message`` is one sentence, for a CI log or a pull-request comment.
    """

    path: str
    kind: ChangeKind
    breaking: bool
    message: str


def schema_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[SchemaChange]:
    """Every field-level change from ``old`` to ``new``, ordered by path, then kind.

    Each schema's ``$ref``s resolve in its own root. A ``$ref`` that is already being expanded
    on the current path (a recursive model) is compared by its JSON types only: its fields were
    compared where it was first expanded.
    """
    changes = _compare("", _Schema(old, old, frozenset()), _Schema(new, new, frozenset()))
    return sorted(changes, key=lambda change: (change.path, change.kind))


def is_breaking(changes: Iterable[SchemaChange]) -> bool:
    """Whether any of ``changes`` breaks a consumer (what a CI gate fails on)."""
    return any(change.breaking for change in changes)


#: The JSON types, which a schema without a ``type`` admits all of.
_ALL_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})


@dataclass(frozen=True)
class _Schema:
    """A schema as found in a document, with what resolving its ``$ref``s needs.

    ``expanding`` holds the references expanded on the way to it from the root: meeting one of
    them again means the model is recursive.
    """

    schema: object
    root: Mapping[str, Any]
    expanding: frozenset[str]


@dataclass(frozen=True)
class _AllOf:
    """Several schemas a value satisfies at once (``allOf``; a ``$ref`` beside siblings)."""

    parts: tuple[_Node, ...]


@dataclass(frozen=True)
class _AnyOf:
    """Several schemas a value satisfies one of (``anyOf``, ``oneOf``, and so ``Optional``)."""

    parts: tuple[_Node, ...]


_Node: TypeAlias = "_Schema | _AllOf | _AnyOf"


@dataclass
class _Shape:
    """What a consumer can rely on about a value: its types, values and members.

    Members are kept unresolved (as nodes) and resolved only when the two sides are compared
    at that depth, which is what lets a recursive model end. ``enum`` maps each allowed value's
    canonical JSON to the value (``None``: any value of the types). ``tuple_items`` is the
    positional form of ``items``; ``values`` the schemas of a map's values. ``stopped`` means
    a recursive reference: the members are not known, and not compared.
    """

    types: frozenset[str] = _ALL_TYPES
    enum: dict[str, Any] | None = None
    properties: dict[str, _Node] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    items: _Node | None = None
    tuple_items: tuple[_Node, ...] | None = None
    values: _Node | None = None
    stopped: bool = False


def _compare(path: str, old: _Node, new: _Node) -> Iterator[SchemaChange]:
    """The changes of one value (the detail, a field, an item, a map value) and below it."""
    before, after = _shape(old), _shape(new)
    if before.types != after.types:
        yield _change(
            path,
            "type-changed",
            f"changed type from {_show_types(before.types)} to {_show_types(after.types)}",
        )
    yield from _compare_enum(path, before.enum, after.enum)
    if before.stopped or after.stopped:
        return
    if "object" in before.types and "object" in after.types:
        yield from _compare_properties(path, before, after)
        if before.values is not None or after.values is not None:
            old_values, new_values = _values(before), _values(after)
            if old_values is not None and new_values is not None:
                yield from _compare(path + "{}", old_values, new_values)
    if "array" in before.types and "array" in after.types:
        yield from _compare_items(path, before, after)


def _compare_properties(path: str, before: _Shape, after: _Shape) -> Iterator[SchemaChange]:
    """Fields removed, added, made required or optional, and the changes inside each field."""
    removed = [name for name in before.properties if name not in after.properties]
    added = [name for name in after.properties if name not in before.properties]
    renamed_to = _rename(path, before, after, removed, added)
    for name in removed:
        hint = f" (renamed to '{renamed_to}'?)" if renamed_to else ""
        yield _change(_join(path, name), "removed", f"was removed{hint}")
    for name in added:
        if name in after.required:
            yield _change(_join(path, name), "added-required", "was added as required")
        else:
            yield _change(_join(path, name), "added-optional", "was added as optional")
    for name, old_field in before.properties.items():
        if name not in after.properties:
            continue
        child = _join(path, name)
        if name in after.required and name not in before.required:
            yield _change(child, "made-required", "was made required")
        elif name in before.required and name not in after.required:
            yield _change(
                child, "made-optional", "was made optional (consumers may rely on it being there)"
            )
        yield from _compare(child, old_field, after.properties[name])


def _rename(
    path: str, before: _Shape, after: _Shape, removed: list[str], added: list[str]
) -> str | None:
    """The field that is probably the removed one renamed, if there is exactly one candidate.

    A rename reads as a removal plus an addition; with one of each at the same level and the
    same JSON types, the removal's message names the addition so a reviewer sees it.
    """
    if len(removed) != 1 or len(added) != 1:
        return None
    old_types = _shape(before.properties[removed[0]]).types
    new_types = _shape(after.properties[added[0]]).types
    return _join(path, added[0]) if old_types == new_types else None


def _compare_items(path: str, before: _Shape, after: _Shape) -> Iterator[SchemaChange]:
    """The items of an array: ``path[]`` for a list, ``path[0]``, ``path[1]`` ... for a tuple.

    A list on one side and a tuple on the other compares the list's items with any of the
    tuple's positions (what a consumer iterating over it meets).
    """
    if before.tuple_items is not None and after.tuple_items is not None:
        for index in range(max(len(before.tuple_items), len(after.tuple_items))):
            position = f"{path}[{index}]"
            if index >= len(after.tuple_items):
                yield _change(position, "removed", "was removed")
            elif index >= len(before.tuple_items):
                yield _change(position, "added-required", "was added as required")
            else:
                yield from _compare(position, before.tuple_items[index], after.tuple_items[index])
        return
    yield from _compare(path + "[]", _list_items(before), _list_items(after))


def _compare_enum(
    path: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> Iterator[SchemaChange]:
    """Enum values removed (breaking: old events carry them) or added (compatible).

    A field that becomes restricted to a set of values is narrowed; one that stops being
    restricted is widened.
    """
    if (before is None) == (after is None) and (before or {}).keys() == (after or {}).keys():
        return
    if after is None:
        yield _change(path, "enum-widened", "is no longer restricted to a set of values")
    elif before is None:
        yield _change(path, "enum-narrowed", f"is now restricted to {_show_values(after)}")
    else:
        lost = {key: value for key, value in before.items() if key not in after}
        gained = {key: value for key, value in after.items() if key not in before}
        if lost:
            yield _change(path, "enum-narrowed", f"no longer allows {_show_values(lost)}")
        if gained:
            yield _change(path, "enum-widened", f"now also allows {_show_values(gained)}")


_BREAKING: dict[ChangeKind, bool] = {
    "added-optional": False,
    "added-required": True,
    "removed": True,
    "type-changed": True,
    "made-required": True,
    "made-optional": True,
    "enum-narrowed": True,
    "enum-widened": False,
}


def _change(path: str, kind: ChangeKind, what: str) -> SchemaChange:
    """A change whose message names the field (``field 'x' ...``) and says what happened."""
    subject = f"field '{path}'" if path else "the event detail"
    return SchemaChange(path, kind, _BREAKING[kind], f"{subject} {what}")


def _join(path: str, name: str) -> str:
    """The path of field ``name`` of the object at ``path``."""
    return f"{path}.{name}" if path else name


def _list_items(shape: _Shape) -> _Node:
    """The schema every item of an array satisfies (a tuple: any one of its positions)."""
    if shape.tuple_items is not None:
        return _AnyOf(shape.tuple_items) if shape.tuple_items else _Schema({}, {}, frozenset())
    return shape.items if shape.items is not None else _Schema({}, {}, frozenset())


def _values(shape: _Shape) -> _Node | None:
    """The schema of a map's values; ``None`` when the object admits no other keys.

    Without ``additionalProperties`` or ``patternProperties`` any value is allowed (``{}``).
    An object closed to other keys (``additionalProperties: false``, a model that forbids
    extra fields) is not a map: nothing is compared then.
    """
    if shape.values is None:
        return _Schema({}, {}, frozenset())
    if isinstance(shape.values, _Schema) and shape.values.schema is False:
        return None
    return shape.values


def _shape(node: _Node, shallow: frozenset[str] | None = None) -> _Shape:
    """Resolve a node into what it admits: references, ``allOf`` and ``anyOf``/``oneOf``.

    ``shallow`` is set once a recursive reference is met: from there on only the types and
    values are resolved (``$ref`` and combinators, never members), with the references followed
    so far in ``shallow`` so that a cycle of bare references ends too.
    """
    if isinstance(node, _AllOf):
        return _intersect([_shape(part, shallow) for part in node.parts])
    if isinstance(node, _AnyOf):
        return _union([_shape(part, shallow) for part in node.parts])
    schema = node.schema
    if schema is True or schema is False:
        return _Shape() if schema else _Shape(types=frozenset(), enum={})
    if not isinstance(schema, Mapping):
        raise TypeError(f"a JSON schema is an object or a boolean, got {schema!r}")
    if "$ref" in schema:  # Draft 4: the siblings of a $ref do not apply
        return _resolve(node, str(schema["$ref"]), shallow)
    shapes = [_own_shape(node, schema, shallow is not None)]
    shapes.extend(_shape(_Schema(s, node.root, node.expanding), shallow) for s in _all_of(schema))
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            branches = [_Schema(s, node.root, node.expanding) for s in schema[keyword]]
            shapes.append(_union([_shape(branch, shallow) for branch in branches]))
    return _intersect(shapes) if len(shapes) > 1 else shapes[0]


def _all_of(schema: Mapping[str, Any]) -> list[Any]:
    """The ``allOf`` members of a schema (none when it has no ``allOf``)."""
    return list(schema.get("allOf", []))


def _resolve(node: _Schema, ref: str, shallow: frozenset[str] | None) -> _Shape:
    """The shape of the schema ``ref`` points at, in the node's own document."""
    target = _Schema(_pointer(node.root, ref), node.root, node.expanding | {ref})
    if shallow is not None:
        if ref in shallow:
            return _Shape(stopped=True)
        shape = _shape(target, shallow | {ref})
    elif ref in node.expanding:
        shape = _shape(target, frozenset({ref}))
    else:
        return _shape(target)
    shape.stopped = True
    return shape


def _pointer(root: Mapping[str, Any], ref: str) -> object:
    """The schema a same-document reference (``#/definitions/X``) points at."""
    if ref != "#" and not ref.startswith("#/"):
        raise ValueError(f"only references inside the schema can be resolved, got {ref!r}")
    target: object = root
    for token in ref[2:].split("/") if ref != "#" else []:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(target, Mapping) and token in target:
            target = target[token]
        elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
            target = target[int(token)]
        else:
            raise ValueError(f"the reference {ref!r} points at nothing in the schema")
    return target


def _own_shape(node: _Schema, schema: Mapping[str, Any], shallow: bool) -> _Shape:
    """What a schema's own keywords say, combinators aside (they are combined by the caller)."""
    enum = {_canonical(value): value for value in schema["enum"]} if "enum" in schema else None
    declared = schema.get("type")
    if declared is not None:
        types = frozenset([declared] if isinstance(declared, str) else declared)
    elif enum is not None:
        types = frozenset(_json_type(value) for value in enum.values())
    elif schema.get("not") == {}:  # what draft4_schema writes for a schema admitting nothing
        types, enum = frozenset(), {}
    else:
        types = _ALL_TYPES
    shape = _Shape(types=types, enum=enum, stopped=shallow)
    if shallow:
        return shape

    def child(sub: object) -> _Schema:
        return _Schema(sub, node.root, node.expanding)

    shape.properties = {name: child(sub) for name, sub in schema.get("properties", {}).items()}
    shape.required = frozenset(schema.get("required", ()))
    items = schema.get("items")
    if isinstance(items, list):
        shape.tuple_items = tuple(child(sub) for sub in items)
    elif items is not None:
        shape.items = child(items)
    values = [child(sub) for sub in schema.get("patternProperties", {}).values()]
    if "additionalProperties" in schema and schema["additionalProperties"] is not True:
        values.append(child(schema["additionalProperties"]))
    if values:
        shape.values = _AnyOf(tuple(values)) if len(values) > 1 else values[0]
    return shape


def _intersect(shapes: list[_Shape]) -> _Shape:
    """What a value satisfying every one of ``shapes`` admits (``allOf``)."""
    result = shapes[0]
    for shape in shapes[1:]:
        result = _Shape(
            types=_intersect_types(result.types, shape.types),
            enum=_intersect_enum(result.enum, shape.enum),
            properties=_merge(result.properties, shape.properties, _AllOf),
            required=result.required | shape.required,
            items=_pair(result.items, shape.items, _AllOf),
            tuple_items=result.tuple_items if shape.tuple_items is None else shape.tuple_items,
            values=_pair(result.values, shape.values, _AllOf),
            stopped=result.stopped or shape.stopped,
        )
    return result


def _union(shapes: list[_Shape]) -> _Shape:
    """What a value satisfying one of ``shapes`` admits (``anyOf``, ``oneOf``).

    A field is required only when every branch that admits an object requires it. The branch
    ``{"type": "null"}`` of an ``Optional`` adds ``null`` to the types and nothing else.
    """
    if not shapes:
        return _Shape(types=frozenset(), enum={})
    objects = [shape.required for shape in shapes if "object" in shape.types]
    valued = [shape.enum for shape in shapes if shape.enum is not None or shape.types - {"null"}]
    enum: dict[str, Any] | None = None
    if valued and all(values is not None for values in valued):
        enum = {key: value for values in valued if values for key, value in values.items()}
    properties: dict[str, _Node] = {}
    items: _Node | None = None
    values: _Node | None = None
    for shape in shapes:
        properties = _merge(properties, shape.properties, _AnyOf)
        items = _pair(items, shape.items, _AnyOf)
        values = _pair(values, shape.values, _AnyOf)
    tuples = [shape.tuple_items for shape in shapes if shape.tuple_items is not None]
    tuple_items: tuple[_Node, ...] | None = None
    if len(tuples) == 1 and items is None:  # Optional[tuple[...]] stays a tuple
        tuple_items = tuples[0]
    elif tuples:  # a tuple beside other arrays: any item is one of the positions
        positions = tuple(node for nodes in tuples for node in nodes)
        items = _pair(items, _AnyOf(positions), _AnyOf)
    return _Shape(
        types=frozenset().union(*(shape.types for shape in shapes)),
        enum=enum,
        properties=properties,
        required=frozenset.intersection(*objects) if objects else frozenset(),
        items=items,
        tuple_items=tuple_items,
        values=values,
        stopped=any(shape.stopped for shape in shapes),
    )


def _intersect_types(left: frozenset[str], right: frozenset[str]) -> frozenset[str]:
    """Types both admit; an ``integer`` is a ``number`` too."""
    common = left & right
    if ("integer" in left and "number" in right) or ("number" in left and "integer" in right):
        common |= {"integer"}
    return common


def _intersect_enum(
    left: dict[str, Any] | None, right: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Values both allow (``None``: unrestricted)."""
    if left is None or right is None:
        return right if left is None else left
    return {key: value for key, value in left.items() if key in right}


def _merge(
    left: dict[str, _Node], right: dict[str, _Node], combine: type[_AllOf | _AnyOf]
) -> dict[str, _Node]:
    """Fields of both, a field of both combined (``_AllOf`` for ``allOf``, ``_AnyOf`` else)."""
    merged = dict(left)
    for name, node in right.items():
        merged[name] = combine((merged[name], node)) if name in merged else node
    return merged


def _pair(left: _Node | None, right: _Node | None, combine: type[_AllOf | _AnyOf]) -> _Node | None:
    """Two optional nodes combined, or the one present."""
    if left is None or right is None:
        return right if left is None else left
    return combine((left, right))


def _canonical(value: object) -> str:
    """An enum value as a key: its JSON (``1`` and ``true`` differ, as they do on the wire)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _json_type(value: object) -> str:
    """The JSON type of an enum value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _show_types(types: frozenset[str]) -> str:
    """``integer``, ``string or null``, ``any``: the types as a sentence reads them."""
    if types == _ALL_TYPES:
        return "any"
    if not types:
        return "nothing"
    names = sorted(types - {"null"}) + (["null"] if "null" in types else [])
    return " or ".join(names)


def _show_values(values: Mapping[str, Any]) -> str:
    """Enum values as a sentence reads them: ``'a', 'b'``, ``1``, ``null``."""
    shown = [f"'{value}'" if isinstance(value, str) else key for key, value in values.items()]
    return ", ".join(sorted(shown))
