"""`rules check` and compliance: words no rule may claim, a help answer that says how to opt out."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from responder import create_app
from responder.cli.rules import rules
from responder.compliance.optout import is_opted_out
from responder.compliance.settings import ComplianceSettings
from responder.config import Config
from responder.store.tables import messages
from tests.conftest import CORE_RULES
from tests.support import OUR, THEIRS, batch, sms_callback, wait_until

CLAIMS = """\
rules:
  - id: arret
    keywords: [arret]
    match: only
    reply: "Bonjour"
  - id: quit-game
    keywords: [quit]
    match: first
    reply: "Game over"
fallback:
  reply: "Sorry?"
"""

CLEAN = """\
rules:
  - id: hours
    keywords: [hours]
    match: first
    reply: "Open 9-5"
fallback:
  reply: "Sorry?"
"""


def check(tmp_path: Path, text: str, **settings) -> tuple[int, str]:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir(exist_ok=True)
    (rules_dir / "main.yaml").write_text(text, encoding="utf-8")
    config = Config.for_data_dir(
        tmp_path / "data", rules_dir, compliance=ComplianceSettings(**settings)
    )
    app = create_app(config, start_sender=False)
    try:
        with app.app_context():
            result = CliRunner().invoke(rules, ["check"])
    finally:
        app.extensions["responder"].engine.dispose()
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_rules_may_not_claim_the_standard_words(tmp_path):
    code, output = check(tmp_path, CLAIMS)
    assert code == 2
    assert "main.yaml:6:5: error: rule 'quit-game' claims compliance words: 'quit'" in output


def test_rules_may_not_claim_configured_words(tmp_path):
    code, output = check(tmp_path, CLAIMS, opt_out_extra=("ARRET", "СТОП"))
    assert code == 2
    assert (
        "main.yaml:2:5: error: rule 'arret' claims configured compliance words: "
        "'ARRET' (opt-out); they are answered before any rule, so choose other keywords"
    ) in output


@pytest.mark.parametrize(
    ("help_reply", "warned"),
    [
        ("Acme support: help@acme.example, 0800 123 456. Reply STOP to unsubscribe.", False),
        ("Acme: text QUIT to leave our list.", False),
        ("Acme support: help@acme.example", True),
        ("Stopping by? We are open 9-5.", True),
    ],
)
def test_help_answer_without_opt_out_instructions_is_a_warning(tmp_path, help_reply, warned):
    code, output = check(tmp_path, CLEAN, help_reply=help_reply)
    warning = (
        "RESPONDER_HELP_REPLY: warning: the help answer does not say how to opt out; "
        "add e.g. 'Reply STOP to unsubscribe'"
    )
    assert (warning in output) is warned
    assert code == (1 if warned else 0)


# --- the running service refuses such a rule set on reload --------------------------------


@pytest.fixture
def config(config):
    """The shared test config with a deployment opt-out word of its own."""
    return config.with_changes(compliance=ComplianceSettings(opt_out_extra=("ARRET",)))


def _post(url: str, callback_id: int, text: str) -> None:
    response = requests.post(
        f"{url}/voximplant/callback", data=batch(sms_callback(callback_id, text)), timeout=10
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("word", ["STOP", "ARRET"])
def test_reload_refuses_a_rule_that_claims_a_compliance_word(live, rules_dir, word):
    url, services = live
    good = services.rules.current().version
    claims = CORE_RULES.replace("Monday to Friday", "every day").replace(
        "rules:\n",
        f"rules:\n  - id: {word.lower()}-rule\n    keywords: [{word.lower()}]\n"
        '    match: only\n    reply: "Got it"\n',
    )
    (rules_dir / "main.yaml").write_text(claims, encoding="utf-8")
    problems = wait_until(lambda: services.rules.last_problems)
    assert [(p.line, p.column) for p in problems if p.is_error] == [(2, 5)]
    assert f"rule '{word.lower()}-rule' claims" in str(problems[0])
    assert services.rules.current().version == good  # the last good set stays live
    _post(url, 1, "hours")
    _post(url, 2, word)
    with services.engine.connect() as conn:
        sent = conn.execute(
            select(messages.c.kind, messages.c.text)
            .where(messages.c.direction == "out")
            .order_by(messages.c.id)
        ).all()
    assert [tuple(m) for m in sent] == [
        ("reply", "We are open 9:00-17:00, Monday to Friday."),
        ("compliance", services.config.compliance.opt_out_reply),
    ]
    with services.engine.connect() as conn:
        assert is_opted_out(conn, OUR, THEIRS)
