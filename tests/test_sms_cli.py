"""`responder segments`: one text or JSON lines from stdin in, one JSON count per text out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from responder.cli.segments import segments

CONSOLE_SCRIPT = Path(sys.executable).parent / "responder"


def test_text_argument_prints_one_json_count() -> None:
    result = CliRunner().invoke(segments, ["a" * 161])
    assert result.exit_code == 0
    assert result.stdout == '{"encoding": "GSM-7", "segments": 2, "units_per_part": [153, 8]}\n'


def test_smart_flag_replaces_look_alikes_before_counting() -> None:
    text = "\u201cHello\u201d \u2014 it\u2019s\u2026"
    plain = CliRunner().invoke(segments, [text])
    smart = CliRunner().invoke(segments, ["--smart", text])
    assert json.loads(plain.stdout)["encoding"] == "UCS-2"
    assert json.loads(smart.stdout) == {"encoding": "GSM-7", "segments": 1, "units_per_part": [17]}


def test_dash_reads_json_strings_from_stdin_one_per_line() -> None:
    lines = ['"hi"', json.dumps("\U0001f600" * 36), json.dumps("\u20ac" * 80 + "a")]
    result = CliRunner().invoke(segments, ["-"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"encoding": "GSM-7", "segments": 1, "units_per_part": [2]},
        {"encoding": "UCS-2", "segments": 2, "units_per_part": [66, 6]},
        {"encoding": "GSM-7", "segments": 2, "units_per_part": [152, 9]},
    ]
    assert result.stderr == ""


def test_lines_that_are_not_json_strings_are_named_and_the_rest_still_counted() -> None:
    stdin = '"one"\nhello\n42\n"four"\n{"text": "x"}\n'
    result = CliRunner().invoke(segments, ["-", "--smart"], input=stdin)
    assert result.exit_code == 1
    assert [json.loads(line)["units_per_part"] for line in result.stdout.splitlines()] == [[3], [4]]
    assert "line 2: expected a JSON string" in result.stderr
    assert "not valid JSON" in result.stderr
    assert 'line 3: expected a JSON string such as "hello" (got a number)' in result.stderr
    assert 'line 5: expected a JSON string such as "hello" (got an object)' in result.stderr
    assert "3 line(s) were not JSON strings: 2, 3, 5" in result.stderr


def test_stdin_may_carry_escaped_and_raw_utf8_text() -> None:
    stdin = '"\\u0456\\ud83d\\ude00"\n"\u0456\U0001f600"\n'.encode()
    result = CliRunner().invoke(segments, ["-"], input=stdin)
    assert result.exit_code == 0
    assert (
        result.stdout.splitlines()
        == ['{"encoding": "UCS-2", "segments": 1, "units_per_part": [3]}'] * 2
    )


@pytest.mark.skipif(
    not CONSOLE_SCRIPT.exists(), reason="the responder console script is not installed"
)
def test_console_script_counts_without_an_app_or_configuration(tmp_path: Path) -> None:
    # An empty environment and directory: building the app would fail on missing config.
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "segments", "--smart", "-"],
        input='"caf\\u00e9 \\u2014 ok"\n"]]]"\n',
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        '{"encoding": "GSM-7", "segments": 1, "units_per_part": [9]}',
        '{"encoding": "GSM-7", "segments": 1, "units_per_part": [6]}',
    ]
