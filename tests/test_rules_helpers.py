"""Helpers the rules tests share: rule files written to a temporary directory, one message asked."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from responder.ruleset import Evaluation, MessageContext, Ruleset, load_ruleset

NOW = datetime(2025, 1, 8, 12, 0, tzinfo=UTC)  # a Wednesday, noon in London
OUR = "447443332211"
OTHER = "447443332233"
THEIRS = "447443332212"


def write_rules(rules_dir: Path, **files: str) -> Path:
    """Write each keyword argument as <name>.yaml (dedented) and return the directory."""
    rules_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (rules_dir / f"{name.replace('_', '-')}.yaml").write_text(
            textwrap.dedent(text).lstrip("\n"), encoding="utf-8"
        )
    return rules_dir


def load(tmp_path: Path, **files: str) -> Ruleset:
    return load_ruleset(write_rules(tmp_path / "rules", **files))


def ask(
    ruleset: Ruleset,
    text: str,
    *,
    our: str = OUR,
    now: datetime = NOW,
    state: str | None = None,
    saved: Mapping[str, str] | None = None,
    last_fired: Mapping[str, datetime] | None = None,
    verbose: bool = False,
) -> Evaluation:
    ctx = MessageContext(
        text=text,
        our_number=our,
        their_number=THEIRS,
        now=now,
        state=state,
        saved=saved or {},
        last_fired=last_fired or {},
    )
    return ruleset.evaluate(ctx, verbose=verbose)
