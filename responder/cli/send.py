"""`responder send`: one operator message, through compliance and the outbox, then sent."""

from __future__ import annotations

import time
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import Row, select

from responder.errors import InvalidNumberError, OptedOutError
from responder.outgoing import MessageTextError, queue_manual
from responder.sender import Sender
from responder.services import Services, current_services
from responder.store.db import reading
from responder.store.tables import messages

# Statuses after which this command has nothing more to wait for.
SETTLED = ("sent", "delivered", "failed", "held")
POLL_S = 0.2


@click.command("send")
@click.option("--from", "our_number", required=True, help="Our number the message comes from.")
@click.option("--to", "their_number", required=True, help="The recipient's number.")
@click.option(
    "--wait",
    default=30.0,
    show_default=True,
    help="Seconds to spend sending it now; 0 only queues it for the running sender.",
)
@click.argument("text")
@with_appcontext
def send(our_number: str, their_number: str, wait: float, text: str) -> None:
    """Send TEXT to one number: opt-outs and quiet hours apply, and it is kept in its thread."""
    found = current_services()
    try:
        with found.engine.begin() as conn:
            ids = queue_manual(conn, found, our_number, their_number, text)
    except (InvalidNumberError, OptedOutError, MessageTextError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"queued {len(ids)} message(s): {', '.join(map(str, ids))}")
    if wait <= 0:
        return
    rows = _send_now(found, ids, wait)
    failed = 0
    for row in rows:
        click.echo(f"message {row.id}: {row.status}{_detail(row)}")
        failed += row.status == "failed"
    if failed:
        raise click.ClickException(f"{failed} of {len(rows)} message(s) failed")


def _send_now(found: Services, ids: list[int], wait: float) -> list[Row[Any]]:
    """Run a sender in this process until *ids* are settled or *wait* seconds have passed."""
    sender = Sender(found)
    deadline = time.monotonic() + wait
    while True:
        sender.run_once()
        rows = _rows(found, ids)
        if all(r.status in SETTLED for r in rows) or time.monotonic() >= deadline:
            return rows
        # Between rounds: a retry may be due in a moment, and another sender may own the row.
        time.sleep(POLL_S)


def _rows(found: Services, ids: list[int]) -> list[Row[Any]]:
    with reading(found.engine) as conn:
        return list(
            conn.execute(
                select(
                    messages.c.id,
                    messages.c.status,
                    messages.c.provider,
                    messages.c.provider_message_id,
                    messages.c.error_text,
                )
                .where(messages.c.id.in_(ids))
                .order_by(messages.c.id)
            )
        )


def _detail(row: Row[Any]) -> str:
    if row.status in ("sent", "delivered"):
        via = f" via {row.provider}" if row.provider else ""
        return via + (f" (id {row.provider_message_id})" if row.provider_message_id else "")
    if row.error_text:
        return f": {row.error_text}"
    if row.status not in SETTLED:
        return "; the sender will keep trying"
    return ""
