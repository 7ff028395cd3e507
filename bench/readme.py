"""bench/README.md: each benchmark owns one `## ` section and replaces only that."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def write_section(title: str, body: str) -> None:
    """Replace the section headed `## {title}` (or append it) with *body*."""
    heading = f"## {title}"
    section = f"{heading}\n\n{body.strip()}\n"
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    if heading + "\n" in text:
        before, _, rest = text.partition(heading + "\n")
        after = rest.split("\n## ", 1)
        tail = "\n## " + after[1] if len(after) > 1 else ""
        text = before + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    README.write_text(text, encoding="utf-8")
