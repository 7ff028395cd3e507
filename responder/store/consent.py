"""The consent ledger and the opt-out list: who may be sent messages, and every change to it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, or_, select

from responder.store.rows import insert_ignore, utc
from responder.store.tables import consent_ledger, opt_outs

# The our_number of an account-wide opt-out: it covers every number of ours.
ACCOUNT_WIDE = "*"


def record_consent(
    conn: Connection,
    *,
    our_number: str,
    their_number: str,
    action: str,
    scope: str,
    text: str,
    now: datetime,
    ruleset_version: str | None = None,
    message_id: int | None = None,
) -> int:
    """Append one opt-out or opt-in to the ledger; return its id."""
    ledger_id: int = conn.execute(
        insert(consent_ledger)
        .values(
            our_number=our_number,
            their_number=their_number,
            action=action,
            scope=scope,
            text=text,
            ruleset_version=ruleset_version,
            message_id=message_id,
            at=now,
        )
        .returning(consent_ledger.c.id)
    ).scalar_one()
    return ledger_id


def add_opt_out(
    conn: Connection,
    our_number: str,
    their_number: str,
    *,
    scope: str,
    ledger_id: int,
    now: datetime,
) -> bool:
    """Opt *their_number* out of *our_number* (or of every number); False when already out."""
    values = {
        "our_number": ACCOUNT_WIDE if scope == "account" else our_number,
        "their_number": their_number,
        "ledger_id": ledger_id,
        "opted_out_at": now,
    }
    return insert_ignore(conn, opt_outs, values, ["our_number", "their_number"]) == 1


def remove_opt_out(conn: Connection, our_number: str, their_number: str, *, scope: str) -> int:
    """Opt *their_number* back in; an opt-in always lifts an account-wide opt-out too."""
    query = delete(opt_outs).where(opt_outs.c.their_number == their_number)
    if scope != "account":
        query = query.where(opt_outs.c.our_number.in_([our_number, ACCOUNT_WIDE]))
    return conn.execute(query).rowcount


def is_opted_out(conn: Connection, our_number: str, their_number: str) -> bool:
    """True when *their_number* opted out of *our_number*, or of every number of the account."""
    row = conn.execute(_OPTED_OUT, {"their": their_number, "ours": our_number}).first()
    return row is not None


# Built once (the intake asks for every inbound message): only the numbers change.
_OPTED_OUT = (
    select(opt_outs.c.ledger_id)
    .where(opt_outs.c.their_number == bindparam("their"))
    .where(or_(opt_outs.c.our_number == bindparam("ours"), opt_outs.c.our_number == ACCOUNT_WIDE))
    .limit(1)
)


def consent_history(conn: Connection, their_number: str) -> list[dict[str, Any]]:
    """Every ledger entry of *their_number*, oldest first."""
    rows = conn.execute(
        select(consent_ledger)
        .where(consent_ledger.c.their_number == their_number)
        .order_by(consent_ledger.c.id)
    ).mappings()
    return [{**row, "at": utc(row["at"])} for row in rows]


def opted_out_pairs(
    conn: Connection,
    their_number: str | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The opt-out list (our_number '*' means every number), newest first; *limit* from *offset*."""
    query = select(opt_outs).order_by(opt_outs.c.opted_out_at.desc(), opt_outs.c.their_number)
    if their_number is not None:
        query = query.where(opt_outs.c.their_number == their_number)
    rows = conn.execute(query.limit(limit).offset(offset)).mappings()
    return [{**row, "opted_out_at": utc(row["opted_out_at"])} for row in rows]
