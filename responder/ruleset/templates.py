"""Reply templates: Jinja2 in a sandbox, compiled once, with the variables each one uses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

BASE_VARIABLES = frozenset({"their_number", "our_number", "text", "now"})
_MARKERS = ("{{", "{%", "{#")
_SIMPLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_JINJA_WORDS = frozenset(
    {
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
        "and",
        "or",
        "not",
        "in",
        "is",
        "if",
        "else",
        "elif",
        "for",
        "import",
        "from",
        "with",
    }
)
# What a template can do wrong at render time; rendering never takes the service down.
RENDER_ERRORS = (
    jinja2.TemplateError,
    ArithmeticError,
    LookupError,
    TypeError,
    ValueError,
    AttributeError,
)


class TemplateSyntaxProblem(Exception):
    """A template that does not compile; .line is the line inside the template."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True, eq=False)
class Template:
    """A compiled reply: plain text, simple {{ name }} substitution, or a Jinja2 template."""

    source: str
    compiled: jinja2.Template | None
    variables: frozenset[str]  # undeclared names the template reads
    parts: tuple[str, ...] | None = None  # text, name, text, name, ... for simple templates

    @property
    def is_plain(self) -> bool:
        return self.compiled is None and self.parts is None

    def render(self, values: Mapping[str, Any]) -> str:
        """Render with *values*, trimmed; raises one of RENDER_ERRORS when the template fails."""
        if self.compiled is not None:
            return self.compiled.render(values).strip()
        if self.parts is None:
            return self.source.strip()
        # Same output as Jinja for bare names: str() of the value, "" when it is missing.
        return "".join(
            part if i % 2 == 0 else str(values.get(part, "")) for i, part in enumerate(self.parts)
        ).strip()


class TemplateCompiler:
    """Compiles templates in one sandboxed environment, each distinct source once."""

    def __init__(self) -> None:
        self.env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
        self._cache: dict[str, Template] = {}

    def compile(self, source: str) -> Template:
        """Compile *source*; raises TemplateSyntaxProblem with the template's own line number."""
        found = self._cache.get(source)
        if found is not None:
            return found
        if not any(marker in source for marker in _MARKERS):
            template = Template(source.strip(), None, frozenset())
        elif _is_simple(source):
            parts = tuple(_SIMPLE.split(source))
            template = Template(source, None, frozenset(parts[1::2]), parts)
        else:
            try:
                tree = self.env.parse(source)
                compiled = self.env.from_string(tree)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateSyntaxProblem(
                    exc.message or "template syntax error", exc.lineno
                ) from None
            names = meta.find_undeclared_variables(tree) - set(self.env.globals)
            template = Template(source, compiled, frozenset(names))
        self._cache[source] = template
        return template


def _is_simple(source: str) -> bool:
    """Only {{ name }} placeholders: rendered by substitution, without compiling Jinja."""
    names = _SIMPLE.findall(source)
    rest = _SIMPLE.sub("", source)
    return not any(m in rest for m in (*_MARKERS, "}}", "%}", "#}")) and not (
        set(names) & _JINJA_WORDS
    )
