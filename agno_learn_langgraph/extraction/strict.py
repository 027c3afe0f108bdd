"""Strict structured output: rewrite a pydantic JSON schema into OpenAI's strict subset.

OpenAI (``response_format={"type": "json_schema", "strict": true}``) and the OpenAI-compatible
endpoints that copy it accept only a subset of JSON Schema: every object lists all its
properties as ``required`` and has ``additionalProperties: false``; no ``default``; none of the
validation keywords ``format``, ``pattern``, ``minLength``, ``minimum``, ``minItems``,
``uniqueItems``, ``prefixItems``, ... (the stricter, older rule set that some endpoints still
apply). :func:`to_strict_schema` rewrites a schema into that subset:

* every object gets all its properties required and ``additionalProperties: false``; optional
  fields stay nullable (``anyOf [..., {"type": "null"}]``), so the model answers ``null``;
* a ``dict[str, V]`` becomes a list of ``{"key", "value"}`` pairs (strict mode has no maps);
  :func:`pairs_to_dicts` converts them back before pydantic validates the reply;
* ``default``, ``title`` and the unsupported keywords are dropped; ``const`` becomes ``enum``;
* non-recursive ``$ref`` s are inlined, so no unused ``$defs`` travel with the request.

A type the subset cannot express (``Any``, ``dict[str, Any]``, a tuple) raises
:class:`StrictSchemaError` naming the field and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agno_learn_langgraph.errors import LearningError

__all__ = ["KEPT_KEYWORDS", "StrictSchemaError", "pairs_to_dicts", "to_strict_schema"]

KEPT_KEYWORDS = frozenset(
    {"type", "properties", "required", "additionalProperties", "items", "anyOf", "enum", "$ref"}
)
"""Keywords a strict schema node may carry (besides ``description`` and, at the root, ``$defs``)."""

_MAP_HINT = (
    "give it a concrete type: str, int, float, bool, a Literal, a list of those, "
    "dict[str, <one of those>] or a nested pydantic model"
)


class StrictSchemaError(LearningError, ValueError):
    """An output schema holds a type strict structured output cannot express."""


def _local_ref(ref: str) -> str:
    prefix = "#/$defs/"
    if not ref.startswith(prefix):
        raise StrictSchemaError(f"Unsupported schema reference {ref!r}; expected '#/$defs/...'.")
    return ref[len(prefix) :]


def _refs_in(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(_local_ref(value))
            else:
                found |= _refs_in(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs_in(value)
    return found


def _recursive_defs(defs: Mapping[str, Any]) -> set[str]:
    """The definitions that reach themselves through ``$ref`` (they must stay ``$ref`` s)."""
    direct = {name: _refs_in(body) for name, body in defs.items()}
    recursive = set()
    for name in defs:
        seen: set[str] = set()
        todo = list(direct.get(name, ()))
        while todo:
            ref = todo.pop()
            if ref == name:
                recursive.add(name)
                break
            if ref not in seen:
                seen.add(ref)
                todo.extend(direct.get(ref, ()))
    return recursive


def _is_map(node: Mapping[str, Any]) -> bool:
    """A ``dict[str, V]`` in JSON schema: an object whose extra keys carry the values."""
    extra = node.get("additionalProperties")
    return node.get("type") == "object" and "properties" not in node and extra is not False


class _Converter:
    def __init__(self, defs: Mapping[str, Any], name: str) -> None:
        self.defs = defs
        self.keep = _recursive_defs(defs)
        self.name = name

    def fail(self, path: str, problem: str) -> StrictSchemaError:
        where = f"field {path!r} of {self.name}" if path else self.name
        return StrictSchemaError(
            f"{where} cannot be sent as a strict structured-output schema: {problem}. "
            f"Fix: {_MAP_HINT}."
        )

    def node(self, node: Any, path: str) -> dict[str, Any]:
        if not isinstance(node, Mapping) or not node:
            raise self.fail(path, "it accepts any value (Any) and strict mode needs a type")
        if "$ref" in node:
            name = _local_ref(node["$ref"])
            if name in self.keep:
                return {"$ref": node["$ref"]}
            inlined = dict(self.defs[name])
            if "description" in node:
                inlined["description"] = node["description"]
            return self.node(inlined, path)
        for bad in ("prefixItems", "oneOf", "not", "patternProperties"):
            if bad in node:
                raise self.fail(path, f"it uses {bad!r} (e.g. a tuple), which strict mode lacks")
        if "allOf" in node:  # pydantic wraps a described $ref this way
            if len(node["allOf"]) != 1:
                raise self.fail(path, "it combines schemas with 'allOf', which strict mode lacks")
            merged = {**node["allOf"][0], **{k: v for k, v in node.items() if k != "allOf"}}
            return self.node(merged, path)
        out: dict[str, Any] = {}
        if "description" in node:
            out["description"] = node["description"]
        if "anyOf" in node:
            branches: list[dict[str, Any]] = []
            for branch in node["anyOf"]:
                converted = self.node(branch, path)
                nested = converted.get("anyOf")
                branches.extend(nested if nested is not None else [converted])
            out["anyOf"] = branches
            return out
        if "const" in node:
            out["enum"] = [node["const"]]
        elif "enum" in node:
            out["enum"] = list(node["enum"])
        kind = node.get("type")
        if kind is None:
            if "enum" in out:
                return out
            raise self.fail(path, "it accepts any value (Any) and strict mode needs a type")
        if _is_map(node):
            return self.pairs(node, path, out)
        out["type"] = kind
        if kind == "object":
            props = node.get("properties") or {}
            out["properties"] = {
                key: self.node(value, f"{path}.{key}" if path else key)
                for key, value in props.items()
            }
            out["required"] = list(props)
            out["additionalProperties"] = False
        elif kind == "array":
            if "items" not in node:
                raise self.fail(path, "it is a list of any value and strict mode needs a type")
            out["items"] = self.node(node["items"], f"{path}[]")
        return out

    def pairs(self, node: Mapping[str, Any], path: str, out: dict[str, Any]) -> dict[str, Any]:
        value = node.get("additionalProperties")
        if value is None or value is True or value == {}:
            raise self.fail(path, "it is a dict of any value and strict mode needs a value type")
        keys = node.get("propertyNames") or {"type": "string"}
        pair = {
            "type": "object",
            "properties": {
                "key": {"type": "string", **({"enum": keys["enum"]} if "enum" in keys else {})},
                "value": self.node(value, f"{path}{{}}"),
            },
            "required": ["key", "value"],
            "additionalProperties": False,
        }
        out["type"] = "array"
        out["items"] = pair
        return out


def to_strict_schema(
    schema: Mapping[str, Any], *, name: str = "the output schema"
) -> dict[str, Any]:
    """``schema`` (pydantic's ``model_json_schema()``) rewritten into the strict subset.

    Raises:
        StrictSchemaError: a field holds a type the subset cannot express (``name`` and the
            field's dotted path are named in the message, with the fix).

    >>> to_strict_schema({"type": "object", "properties": {"tags": {
    ...     "type": "object", "additionalProperties": {"type": "string"}, "default": {}}}})
    ... # doctest: +NORMALIZE_WHITESPACE
    {'type': 'object', 'properties': {'tags': {'type': 'array', 'items': {'type': 'object',
     'properties': {'key': {'type': 'string'}, 'value': {'type': 'string'}},
     'required': ['key', 'value'], 'additionalProperties': False}}},
     'required': ['tags'], 'additionalProperties': False}
    """
    defs = schema.get("$defs") or {}
    converter = _Converter(defs, name)
    root = {k: v for k, v in schema.items() if k != "$defs"}
    out = converter.node(root, "")
    if converter.keep:
        out["$defs"] = {
            def_name: converter.node(defs[def_name], def_name)
            for def_name in sorted(converter.keep)
        }
    return out


def _resolve(node: Any, defs: Mapping[str, Any]) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        node = defs.get(_local_ref(node["$ref"]), {})
    if isinstance(node, Mapping) and "allOf" in node and len(node["allOf"]) == 1:
        node = _resolve(node["allOf"][0], defs)
    return node


def _is_pairs(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, Mapping) and set(v) == {"key", "value"} for v in value
    )


def pairs_to_dicts(
    value: Any, schema: Mapping[str, Any], defs: Mapping[str, Any] | None = None
) -> Any:
    """``value`` with every ``[{"key", "value"}, ...]`` list turned back into a dict where the
    original (non-strict) ``schema`` has a ``dict[str, V]``; everything else as it was.

    >>> pairs_to_dicts({"m": [{"key": "a", "value": "1"}]},
    ...     {"type": "object", "properties": {"m": {"type": "object",
    ...      "additionalProperties": {"type": "string"}}}})
    {'m': {'a': '1'}}
    """
    defs = schema.get("$defs", {}) if defs is None else defs
    node = _resolve(schema, defs)
    if not isinstance(node, Mapping) or value is None:
        return value
    if "anyOf" in node:
        for branch in node["anyOf"]:
            branch = _resolve(branch, defs)
            if isinstance(branch, Mapping) and branch.get("type") in ("object", "array"):
                converted = pairs_to_dicts(value, branch, defs)
                if converted is not value:
                    return converted
        return value
    if _is_map(node):
        extra = node.get("additionalProperties")
        if not isinstance(extra, Mapping):
            return value
        if _is_pairs(value):
            return {p["key"]: pairs_to_dicts(p["value"], extra, defs) for p in value}
        if isinstance(value, Mapping):
            return {k: pairs_to_dicts(v, extra, defs) for k, v in value.items()}
        return value
    if node.get("type") == "object" and isinstance(value, Mapping):
        props = node.get("properties") or {}
        return {k: pairs_to_dicts(v, props[k], defs) if k in props else v for k, v in value.items()}
    if node.get("type") == "array" and isinstance(value, list) and "items" in node:
        return [pairs_to_dicts(v, node["items"], defs) for v in value]
    return value
