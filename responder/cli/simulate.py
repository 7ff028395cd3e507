"""`responder simulate`: what the service would answer, without storing or sending anything."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from responder.cli.arguments import number_argument
from responder.services import current_services
from responder.simulation import simulate_message


@click.command()
@click.option("--from", "their", required=True, help="The sender's number (theirs).")
@click.option("--to", "ours", required=True, help="Our number the text is sent to.")
@click.argument("text")
@with_appcontext
def simulate(their: str, ours: str, text: str) -> None:
    """Print the rule that answers TEXT and the rendered reply; sends nothing."""
    their_number, our_number = number_argument(their), number_argument(ours)
    decision = simulate_message(current_services(), our_number, their_number, text)
    click.echo(f"rule: {decision.rule_id or '(none)'}")
    click.echo(f"reply: {decision.reply if decision.reply is not None else '(no reply)'}")
    if decision.reply is None:
        click.echo(f"why: {decision.reason}")
