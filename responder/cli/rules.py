"""`responder rules check|test|explain`: lint rule files, run their examples, trace a message."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import NoAppException

from responder.cli.consent import configured_compliance
from responder.cli.context import configured
from responder.compliance.rulecheck import compliance_problems
from responder.errors import ResponderError
from responder.numbers import callback_number
from responder.ruleset.durations import parse_duration
from responder.ruleset.examples import DEFAULT_FROM, DEFAULT_TO, parse_moment, run_examples
from responder.ruleset.loader import build_ruleset, check_ruleset
from responder.ruleset.model import MessageContext
from responder.ruleset.problems import Problem, sort_problems


def default_rules_dir() -> Path:
    """The configured rules directory when an app is at hand, else ./rules."""
    try:
        config = configured()
    except (NoAppException, ResponderError) as exc:
        raise click.ClickException(
            f"cannot read the configured rules directory ({exc}); pass DIR"
        ) from None
    return Path(config.rules_dir) if config is not None else Path("rules")


def _resolve(rules_dir: Path | None) -> Path:
    rules_dir = rules_dir or default_rules_dir()
    if not rules_dir.is_dir():
        raise click.ClickException(f"rules directory {rules_dir} does not exist")
    return rules_dir


def _summary(problems: list[Problem]) -> str:
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"


@click.group("rules")
def rules() -> None:
    """Check, test and explain the rule files."""


# `rules check` exit codes: the worst problem found decides.
EXIT_CLEAN, EXIT_WARNINGS, EXIT_ERRORS = 0, 1, 2


@rules.command("check")
@click.argument("rules_dir", required=False, type=click.Path(path_type=Path))
@click.pass_context
def check(ctx: click.Context, rules_dir: Path | None) -> None:
    """Lint every rule file and run its examples; exit 2 on errors, 1 on warnings, else 0."""
    rules_dir = _resolve(rules_dir)
    problems = check_ruleset(rules_dir)
    # Deployment settings too: configured opt-out words no rule may claim, the help answer.
    build = build_ruleset(rules_dir)
    problems = sort_problems(
        [*problems, *compliance_problems(build.ruleset, configured_compliance())]
    )
    for problem in problems:
        click.echo(str(problem))
    if any(p.is_error for p in problems):
        click.echo(
            f"Error: {rules_dir}: {_summary(problems)}; the service would refuse it", err=True
        )
        ctx.exit(EXIT_ERRORS)
    build = build_ruleset(rules_dir)
    count = len(build.ruleset.rules) if build.ruleset else 0
    version = build.ruleset.version if build.ruleset else "-"
    click.echo(f"{rules_dir}: ok, {count} rules, version {version}, {_summary(problems)}")
    ctx.exit(EXIT_WARNINGS if problems else EXIT_CLEAN)


@rules.command("test")
@click.argument("rules_dir", required=False, type=click.Path(path_type=Path))
@click.option("-v", "--verbose", is_flag=True, help="Show the reply of passing examples too.")
def test(rules_dir: Path | None, verbose: bool) -> None:
    """Run every file's examples against the whole rule set."""
    rules_dir = _resolve(rules_dir)
    build = build_ruleset(rules_dir)
    errors = [p for p in build.problems if p.is_error]
    if errors:
        for problem in errors:
            click.echo(str(problem))
        raise click.ClickException(f"{rules_dir}: {len(errors)} errors; fix them before testing")
    results = run_examples(build)
    for result in results:
        if not result.passed:
            click.echo(f"FAIL {result.where} {result.text!r}: {result.detail}")
        elif verbose:
            click.echo(f"pass {result.where} {result.text!r} -> {result.detail}")
    failed = sum(not r.passed for r in results)
    summary = f"{len(results) - failed} passed, {failed} failed"
    if failed:
        raise click.ClickException(summary)
    click.echo(summary)


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected NAME=VALUE (got {value!r})", param_hint=option)
        pairs[key] = rest
    return pairs


@rules.command("explain")
@click.option("--from", "their_number", default=DEFAULT_FROM, show_default=True)
@click.option("--to", "our_number", default=DEFAULT_TO, show_default=True)
@click.option("--at", "at", help='When: "sat 11:00", "2025-06-02 18:30" or ISO 8601; default now.')
@click.option("--state", help="The conversation's current state.")
@click.option("--saved", multiple=True, metavar="NAME=VALUE", help="A saved conversation value.")
@click.option(
    "--fired", multiple=True, metavar="RULE=AGO", help="Rule RULE last answered AGO (10m)."
)
@click.option(
    "--replied",
    multiple=True,
    metavar="AGO",
    help="An automatic reply went out AGO (5m), for the budget.",
)
@click.argument("args", nargs=-1, required=True)
def explain(
    their_number: str,
    our_number: str,
    at: str | None,
    state: str | None,
    saved: tuple[str, ...],
    fired: tuple[str, ...],
    replied: tuple[str, ...],
    args: tuple[str, ...],
) -> None:
    """Show how the rules decide on one message: [DIR] TEXT."""
    rules_dir: Path | None = None
    words = list(args)
    if len(words) > 1 and Path(words[0]).is_dir():
        rules_dir = Path(words.pop(0))
    rules_dir = _resolve(rules_dir)
    build = build_ruleset(rules_dir)
    errors = [p for p in build.problems if p.is_error]
    for problem in errors:
        click.echo(f"{problem}  (this rule is left out)", err=True)
    if build.ruleset is None:
        raise click.ClickException(f"{rules_dir}: no rules could be loaded")
    ruleset = build.ruleset
    try:
        now = parse_moment(at, ruleset.timezone) if at else datetime.now(UTC)
        last_fired = {k: now - parse_duration(v) for k, v in _pairs(fired, "--fired").items()}
        recent = [now - parse_duration(ago) for ago in replied]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    ctx = MessageContext(
        text=" ".join(words),
        our_number=callback_number(our_number),
        their_number=callback_number(their_number),
        now=now,
        state=state,
        saved=_pairs(saved, "--saved"),
        last_fired=last_fired,
        recent_replies=recent,
    )
    click.echo(f"rules     {rules_dir} (version {ruleset.version}, time zone {ruleset.timezone})")
    budget = ruleset.budget_for(ctx.our_number)
    if budget is not None:
        used = sum(1 for at in recent if now - at < budget.per)
        click.echo(f"budget    {budget} automatic replies; {used} used")
    for line in ruleset.evaluate(ctx, verbose=True).trace.lines():
        click.echo(line)
