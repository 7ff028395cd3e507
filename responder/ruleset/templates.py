"""Reply templates: Jinja2 in a sandbox, compiled once, with the variables each one uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

BASE_VARIABLES = frozenset({"their_number", "our_number", "text", "now"})
_MARKERS = ("{{", "{%", "{#")
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
    """A compiled reply; plain text skips Jinja entirely."""

    source: str
    compiled: jinja2.Template | None
    variables: frozenset[str]  # undeclared names the template reads

    def render(self, values: Mapping[str, Any]) -> str:
        """Render with *values*; raises one of RENDER_ERRORS when the template fails."""
        if self.compiled is None:
            return self.source
        return self.compiled.render(values)


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
            template = Template(source, None, frozenset())
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
