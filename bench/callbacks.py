"""Signed callback bodies with unique ids, as Voximplant posts them, for every load generator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine

from bench.machine import ROOT
from responder.store.inbox import inbox_engine, summary
from tests.support import API_KEY, OUR, SALT, sign, sms_callback

RULES_DIR = ROOT / "bench" / "rules"
SENDERS = 1000  # callbacks come from this many numbers, so threads see repeat contacts


def source_number(callback_id: int) -> str:
    return str(447700900000 + callback_id % SENDERS)


def ticket_text(callback_id: int) -> str:
    """The text of callback *callback_id*; its reply (rule `ticket`) carries the same number."""
    return f"ticket {callback_id}"


def body(callback_id: int) -> bytes:
    """A batch of one signed sms_inbound callback."""
    element = sms_callback(
        callback_id, ticket_text(callback_id), source=source_number(callback_id), destination=OUR
    )
    return json.dumps({"callbacks": [element]}).encode()


def template() -> str:
    """body() with @ID@, @HASH@ and @SOURCE@ in place of its varying parts (for wrk's Lua)."""
    marker = 987654321987
    text = body(marker).decode()
    return (
        text.replace(sign(marker), "@HASH@")
        .replace(source_number(marker), "@SOURCE@")
        .replace(str(marker), "@ID@")
    )


def id_lines(first: int, count: int) -> str:
    """'id hash source' lines for callbacks first .. first+count-1."""
    return "".join(f"{i} {sign(i)} {source_number(i)}\n" for i in range(first, first + count))


def responder_env(
    workdir: Path, *, api_url: str | None = None, credentials: Path | None = None
) -> dict[str, str]:
    """The service's environment: data under *workdir*, bench rules, callbacks verified.

    With *api_url* and *credentials* replies go to that Management API, signed with that
    service-account key; without them the `log` provider writes them to the log.
    """
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {name: "" for name in os.environ if name.startswith(("RESPONDER_", "VOXIMPLANT_"))}
    env.update(
        {
            "DATABASE_URL": "",
            "RESPONDER_DATA_DIR": str(data_dir),
            "RESPONDER_RULES_DIR": str(RULES_DIR),
            "VOXIMPLANT_CALLBACK_SALT": SALT,
            "VOXIMPLANT_API_KEY": API_KEY,
            # 1,000 numbers each texting a dozen times a minute at 200/s: the loop breaker
            # would rightly stop answering them after five replies in ten minutes.
            "RESPONDER_BREAKER": "off",
        }
    )
    if api_url is None or credentials is None:
        env["RESPONDER_PROVIDER"] = "log"
    else:
        env.update(
            {
                "RESPONDER_PROVIDER": "voximplant",
                "VOXIMPLANT_CREDENTIALS": str(credentials),
                "VOXIMPLANT_API_URL": api_url,
            }
        )
    return env


def prepare_database(env: dict[str, str], workdir: Path) -> None:
    """`responder db upgrade`, as a release step does before the web processes start."""
    responder = shutil.which("responder", path=str(Path(sys.executable).parent))
    subprocess.run(
        [responder or "responder", "db", "upgrade"],
        cwd=workdir,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        check=True,
        capture_output=True,
    )


def unprocessed(database_url: str) -> int:
    """Callbacks answered in queue mode and not processed yet, in the journal or the inbox."""
    database = create_engine(database_url)
    inbox = inbox_engine(database, None, create=False)
    try:
        return summary(inbox).waiting
    finally:
        inbox.dispose()
        database.dispose()
