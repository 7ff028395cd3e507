"""`responder segments`: how many SMS parts a text costs, as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable

import click

from responder.sms.segments import count_segments

STDIN = "-"


@click.command("segments")
@click.option("--smart", is_flag=True, help="Replace look-alike characters with GSM ones first.")
@click.argument("text")
def segments(smart: bool, text: str) -> None:
    """Print the encoding, segment count and units per part of TEXT as one JSON object.

    With TEXT "-", read JSON strings from stdin, one per line, and print one object per
    line. Needs no app, database or configuration.
    """
    if text != STDIN:
        click.echo(_count_json(text, smart=smart))
        return
    with click.open_file(STDIN, "rb") as stdin:
        bad_lines = _count_lines(stdin, smart=smart)
    if bad_lines:
        listed = ", ".join(str(number) for number in bad_lines)
        raise click.ClickException(f"{len(bad_lines)} line(s) were not JSON strings: {listed}")


def _count_lines(lines: Iterable[bytes], *, smart: bool) -> list[int]:
    """Answer each line in order; report bad lines on stderr and return their numbers."""
    bad_lines: list[int] = []
    for number, line in enumerate(lines, start=1):
        try:
            text = _parse_line(line)
        except ValueError as exc:
            click.echo(f"line {number}: {exc}", err=True)
            bad_lines.append(number)
            continue
        click.echo(_count_json(text, smart=smart))
    return bad_lines


def _parse_line(line: bytes) -> str:
    """Decode one line as a JSON string, or raise ValueError saying what it was instead."""
    try:
        value = json.loads(line)
    except ValueError as exc:
        raise ValueError(f'expected a JSON string such as "hello" (not valid JSON: {exc})') from exc
    if not isinstance(value, str):
        raise ValueError(f'expected a JSON string such as "hello" (got {_json_kind(value)})')
    return value


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "an array" if isinstance(value, list) else "an object"


def _count_json(text: str, *, smart: bool) -> str:
    return json.dumps(count_segments(text, smart=smart).to_dict())


if __name__ == "__main__":
    segments()
