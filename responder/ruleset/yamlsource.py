"""YAML text -> plain data whose mappings and lists remember the line and column of every item."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

Loc = tuple[int, int]  # 1-based line and column


class LocDict(dict[Any, Any]):
    """A mapping that knows where it, each key and each value start in the file."""

    loc: Loc = (1, 1)
    key_locs: dict[Any, Loc]
    value_locs: dict[Any, Loc]

    def key_loc(self, key: Any) -> Loc:
        return self.key_locs.get(key, self.loc)

    def value_loc(self, key: Any) -> Loc:
        return self.value_locs.get(key, self.loc)


class LocList(list[Any]):
    """A list that knows where it and each item start in the file."""

    loc: Loc = (1, 1)
    item_locs: list[Loc]

    def item_loc(self, index: int) -> Loc:
        return self.item_locs[index] if index < len(self.item_locs) else self.loc


@dataclass
class ParsedYaml:
    """The document (None when empty) and the problems found while reading it."""

    data: Any
    error: tuple[Loc | None, str] | None = None
    duplicates: list[tuple[Loc, str]] = field(default_factory=list)


_YAML11_TAGS = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int")


def _loc(mark: Any) -> Loc:
    return (mark.line + 1, mark.column + 1)


class _Loader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader with YAML 1.2 booleans and integers, so `yes`, `no` and `09:00` stay strings."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML11_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|0o?[0-7_]+)$"),
    list("-+0123456789"),
)


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _Builder:
    """Nodes -> LocDict / LocList / scalars; faster than PyYAML's generic constructor."""

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.duplicates: list[tuple[Loc, str]] = []
        self.done: dict[int, Any] = {}  # aliases share one object, as in PyYAML

    def build(self, node: yaml.Node) -> Any:
        found = self.done.get(id(node))
        if found is not None:
            return found
        if node.tag == _STR:
            return node.value
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            data = LocList()
            self.done[id(node)] = data
            data.loc = _loc(node.start_mark)
            data.item_locs = [_loc(item.start_mark) for item in node.value]
            data.extend(self.build(item) for item in node.value)
            return data
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode) -> LocDict:
        data = LocDict()
        self.done[id(node)] = data
        data.loc = _loc(node.start_mark)
        data.key_locs = {}
        data.value_locs = {}
        own = sum(k.tag != "tag:yaml.org,2002:merge" for k, _ in node.value)
        self.loader.flatten_mapping(node)
        first_own = len(node.value) - own  # merged entries come first and may be overridden
        own_keys: set[Any] = set()
        for position, (key_node, value_node) in enumerate(node.value):
            key = self.build(key_node)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                ) from None
            if position >= first_own:
                if key in own_keys:
                    self.duplicates.append((_loc(key_node.start_mark), f"duplicate key {key!r}"))
                own_keys.add(key)
            data[key] = self.build(value_node)
            data.key_locs[key] = _loc(key_node.start_mark)
            data.value_locs[key] = _loc(value_node.start_mark)
        return data


def parse_yaml(text: str) -> ParsedYaml:
    """Parse one YAML document; a syntax error is returned with its location, never raised."""
    loader = _Loader(text)
    builder = _Builder(loader)
    try:
        node = loader.get_single_node()
        data = None if node is None else builder.build(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        return ParsedYaml(None, ((_loc(mark) if mark else None), f"YAML: {message}"))
    except yaml.YAMLError as exc:
        return ParsedYaml(None, (None, f"YAML: {exc}"))
    finally:
        loader.dispose()
    return ParsedYaml(data, None, builder.duplicates)


class FieldError(Exception):
    """A value in a rule file that is not what its key expects; .loc says where."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def loc_of(container: Any, key: Any) -> Loc:
    """Where the value under *key* (a mapping key or a list index) starts."""
    if isinstance(container, LocDict):
        return container.value_loc(key)
    if isinstance(container, LocList) and isinstance(key, int):
        return container.item_loc(key)
    return getattr(container, "loc", (1, 1))
