"""Opt-out, opt-in and help over real HTTP, sending through the fake Voximplant API."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from responder.cli.consent import consent
from responder.compliance.settings import DEFAULT_HELP_REPLY
from responder.errors import OptedOutError
from responder.outgoing import queue_manual
from responder.sender import Sender
from responder.store.outbox import claim_due
from responder.store.tables import opt_outs
from tests.support import OUR, THEIRS, wait_until

HOURS = "We are open 9:00-17:00, Monday to Friday."
STOPPED = "You are unsubscribed"
OTHER_OURS = "447443332219"


def test_stop_blocks_rule_replies(start_site):
    site = start_site()
    site.text("hours")
    site.settle()  # answered before the STOP; a reply still waiting would be withheld
    site.text(" Stop! ")
    site.text("hours")
    site.text("order 12")
    bodies = site.sent_bodies()
    assert bodies[0] == HOURS
    assert bodies[1].startswith(STOPPED)
    assert len(bodies) == 2
    last = site.last_inbound()
    assert site.events(last.id)[-1] == ("handled", "opted out: no automatic reply")
    assert site.checks()[0] == {
        "check": "consent",
        "result": "opted out",
        "outcome": "no automatic reply",
    }
    assert [m.kind for m in site.outbound()] == ["reply", "compliance"]


@pytest.mark.parametrize(
    "text",
    ["STOP", "Stop.", " stop! ", "stop all", "STOPALL", "Unsubscribe", "cancel", "end", "quit",
     "revoke", "optout", "opt out", "Opt-Out", "stop texting me"],
)  # fmt: skip
def test_every_default_opt_out_word_opts_out(start_site, text):
    site = start_site()
    site.text(text)
    assert [b[: len(STOPPED)] for b in site.sent_bodies()] == [STOPPED]
    entry = site.ledger()[0]
    assert (entry["action"], entry["text"], entry["our_number"]) == ("opt_out", text, OUR)
    assert entry["ruleset_version"] == site.services.rules.current().version


def test_words_inside_a_sentence_are_not_an_opt_out(start_site):
    site = start_site()
    site.text("please do not stop my order")
    assert site.sent_bodies() == ["Sorry, we did not understand. Text HOURS for our opening hours."]
    assert site.ledger() == []


def test_opt_out_is_confirmed_once(start_site):
    site = start_site()
    site.text("STOP")
    site.text("stop")
    site.text("Stop.")
    assert len(site.sent_bodies()) == 1
    ledger = site.ledger()
    assert [(e["action"], e["text"]) for e in ledger] == [
        ("opt_out", "STOP"),
        ("opt_out", "stop"),
        ("opt_out", "Stop."),
    ]
    assert "no second confirmation" in site.last_inbound().trace


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
def test_opt_in_re_enables_replies(start_site, word):
    site = start_site()
    site.text("STOP")
    site.text("hours")
    site.text(word)
    site.text("hours")
    bodies = site.sent_bodies()
    assert bodies[0].startswith(STOPPED)
    assert bodies[1].startswith("You are subscribed again")
    assert bodies[2:] == [HOURS]
    assert [e["action"] for e in site.ledger()] == ["opt_out", "opt_in"]


def test_yes_is_an_ordinary_word_when_not_opted_out(start_site):
    site = start_site()
    site.text("yes")
    assert site.sent_bodies() == ["Sorry, we did not understand. Text HOURS for our opening hours."]
    assert site.ledger() == []


def test_help_is_answered_even_when_opted_out(start_site):
    site = start_site()
    site.text("help")
    site.settle()
    site.text("STOP")
    site.text("Info")
    site.text("hours")
    bodies = site.sent_bodies()
    assert bodies[0] == DEFAULT_HELP_REPLY
    assert bodies[1].startswith(STOPPED)
    assert bodies[2] == DEFAULT_HELP_REPLY
    assert len(bodies) == 3


def test_configured_words_and_replies(start_site):
    site = start_site(
        opt_out_extra=("ARRET", "СТОП", "please stop texting me"),
        help_extra=("AIDE",),
        opt_out_reply="Vous êtes désinscrit.",
        help_reply="Acme help: support@acme.example, reply STOP to opt out.",
    )
    site.text("Arrêt")  # not configured: the accent makes it another word
    site.text("aide")
    site.settle()
    site.text("стоп")
    site.text("help")
    bodies = site.sent_bodies()
    assert bodies[-4:] == [
        "Sorry, we did not understand. Text HOURS for our opening hours.",
        "Acme help: support@acme.example, reply STOP to opt out.",
        "Vous êtes désinscrit.",
        "Acme help: support@acme.example, reply STOP to opt out.",
    ]
    assert [e["text"] for e in site.ledger()] == ["стоп"]
    other = "447443332213"
    site.text("Please stop texting me!", source=other)
    assert site.sent_bodies(to=other) == ["Vous êtes désinscrit."]


def test_stop_fails_a_reply_waiting_for_a_retry(start_site):
    site = start_site()
    site.fake.fail_next(n=1, status=503)
    site.text("hours")
    reply = site.outbound()[0]
    site.services.wakeup.set()
    # The first try failed; the clock stands still, so the retry waits in the outbox.
    wait_until(lambda: site.outbound()[0].status == "errored")
    site.text("STOP", gap_s=0)  # the clock stays put: the retry is not due yet
    site.clock.advance(minutes=2)  # the retry is due; the confirmation still in time
    bodies = site.sent_bodies()
    assert len(bodies) == 1
    assert bodies[0].startswith(STOPPED)
    failed = site.outbound()[0]
    assert (failed.id, failed.status, failed.error_code) == (reply.id, "failed", "opted_out")
    assert site.events(reply.id)[-1][0] == "failed"


def test_stop_wins_over_a_reply_a_sender_already_holds(start_site):
    site = start_site()
    site.services.sender.stop()
    site.text("hours")
    # Another sender process has claimed the reply but not sent it yet when STOP arrives.
    (claim,) = claim_due(site.services.engine, "other-sender", site.clock())
    site.text("STOP", gap_s=2)
    Sender(site.services, name="other-sender").send_one(claim)
    reply = site.outbound()[0]
    assert (reply.status, reply.error_code) == ("failed", "opted_out")
    assert reply.attempts == 0
    assert [r.params["sms_body"] for r in site.fake.sent] == []


def test_manual_message_to_an_opted_out_number_is_refused(start_site):
    site = start_site()
    site.text("STOP")
    with site.services.engine.begin() as conn, pytest.raises(OptedOutError) as caught:
        queue_manual(conn, site.services, OUR, THEIRS, "Hello again", now=site.clock())
    assert str(caught.value) == (
        f"{THEIRS} has opted out of messages from {OUR}; nothing is sent until they text START"
    )
    with site.services.engine.begin() as conn:
        ids = queue_manual(
            conn, site.services, OTHER_OURS, "+44 7443 332212", "Hi", now=site.clock()
        )
    assert len(ids) == 1
    assert site.sent_bodies()[-1] == "Hi"


def test_scope_per_number_leaves_our_other_numbers(start_site):
    site = start_site(scope="number")
    site.text("STOP", destination=OUR)
    site.text("hours", destination=OTHER_OURS)
    site.settle()
    sources = [r.params["source"] for r in site.fake.sent if r.params["sms_body"] == HOURS]
    assert sources == [OTHER_OURS]


def test_scope_account_covers_every_number_until_opt_in(start_site):
    site = start_site(scope="account")
    site.text("STOP", destination=OUR)
    site.text("hours", destination=OTHER_OURS)
    site.settle()
    assert [r.params["sms_body"] for r in site.fake.sent if r.params["sms_body"] == HOURS] == []
    with site.services.engine.connect() as conn:
        assert conn.execute(select(opt_outs.c.our_number)).scalars().all() == ["*"]
    with site.services.engine.begin() as conn, pytest.raises(OptedOutError):
        queue_manual(conn, site.services, OTHER_OURS, THEIRS, "Hello", now=site.clock())
    site.text("START", destination=OTHER_OURS)
    site.text("hours", destination=OUR)
    site.settle()
    assert [r.params["source"] for r in site.fake.sent if r.params["sms_body"] == HOURS] == [OUR]


def test_consent_commands_show_the_ledger(start_site):
    site = start_site()
    site.text("Please stop")
    site.text("START")
    site.text("stop", destination=OTHER_OURS)
    runner = CliRunner()
    with site.app.app_context():
        listed = runner.invoke(consent, ["list"])
        shown = runner.invoke(consent, ["show", "+44 7443 332212"])
        nobody = runner.invoke(consent, ["show", "447443332213"])
        bad = runner.invoke(consent, ["show", "4412345"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines()[1].split() == [THEIRS, OTHER_OURS, "2026-11-30", "12:03:00"]
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert "opt_out  to 447443332211 (number scope, rules " in lines[0]
    assert lines[0].endswith("'Please stop'")
    assert lines[1].endswith("'START'")
    assert lines[2].endswith("'stop'")
    assert lines[3] == f"{THEIRS} is opted out of {OTHER_OURS}"
    assert nobody.output == "447443332213: no opt-out or opt-in received\n"
    assert bad.exit_code == 1
    assert bad.output == "Error: '4412345' is not a valid international phone number\n"


@pytest.mark.parametrize(("retry_after_min", "sent"), [(1, True), (6, False)])
def test_opt_out_confirmation_goes_within_five_minutes_or_never(start_site, retry_after_min, sent):
    site = start_site()
    site.fake.fail_next(n=1, status=503)
    site.text("STOP")
    (confirmation,) = site.outbound()
    site.services.wakeup.set()
    wait_until(lambda: site.outbound()[0].status == "errored")
    site.clock.advance(minutes=retry_after_min)
    site.settle()
    final = site.outbound()[0]
    if sent:
        assert final.status == "sent"
        assert site.sent_bodies()[0].startswith(STOPPED)
    else:
        assert (final.status, final.error_code) == ("failed", "too_old")
        assert site.sent_bodies() == []
    assert final.id == confirmation.id


def test_no_forward_to_a_staff_number_that_opted_out(start_site, rules_dir):
    (rules_dir / "main.yaml").write_text(
        "rules:\n"
        "  - id: staff\n"
        "    keywords: [staff]\n"
        "    match: first\n"
        '    reply: "One of our team will text you back shortly."\n'
        '    forward: {sms: "+447443332299", text: "+{{ their_number }} asks for a person"}\n'
        'fallback:\n  reply: "Sorry?"\n',
        encoding="utf-8",
    )
    site = start_site()
    site.text("STOP", source="447443332299")
    site.text("staff")
    assert site.sent_bodies() == ["One of our team will text you back shortly."]
    assert len(site.sent_bodies(to="447443332299")) == 1  # the opt-out confirmation only
    trace = json.loads(site.last_inbound().trace)
    assert trace["actions"] == ["forward to 447443332299 not sent: that number opted out"]


def test_an_operator_records_an_opt_out_made_by_phone(start_site):
    site = start_site()
    runner = CliRunner()
    with site.app.app_context():
        out = runner.invoke(consent, ["opt-out", "+44 7443 332212", "--note", "asked by phone"])
        again = runner.invoke(consent, ["opt-out", THEIRS])
    assert out.exit_code == 0, out.output
    assert out.output.startswith(f"{THEIRS} opted out from all our numbers (ledger entry ")
    assert again.output.startswith(f"{THEIRS} was already opted out from all our numbers")
    site.text("hours", destination=OTHER_OURS)
    assert site.sent_bodies() == []
    with site.app.app_context():
        back = runner.invoke(consent, ["opt-in", THEIRS, "--ours", OUR, "--note", "signed form"])
        bad = runner.invoke(consent, ["opt-in", "07443 332212"])
    assert back.output.startswith(f"{THEIRS} opted back in from {OUR}")
    assert bad.exit_code == 1
    assert "is a national number" in bad.output
    site.text("hours")
    assert site.sent_bodies() == [HOURS]
    assert [(e["action"], e["text"]) for e in site.ledger()] == [
        ("opt_out", "asked by phone"),
        ("opt_out", "recorded by an operator"),
        ("opt_in", "signed form"),
    ]


def test_no_rule_answers_a_compliance_word_not_even_a_catch_all(start_site, rules_dir):
    (rules_dir / "main.yaml").write_text(
        "rules:\n"
        "  - id: everything\n"
        "    match: regex\n"
        "    pattern: '.*'\n"
        '    reply: "Thanks for your message!"\n',
        encoding="utf-8",
    )
    site = start_site()
    site.text("hello")
    site.settle()  # answered before the STOP; a reply still waiting would be withheld
    site.text("Stop!")
    site.text("help")
    bodies = site.sent_bodies()
    assert bodies[0] == "Thanks for your message!"
    assert bodies[1].startswith(STOPPED)
    assert bodies[2] == DEFAULT_HELP_REPLY
    assert len(bodies) == 3


def test_stop_leaves_url_forwards_alone(start_site, rules_dir):
    (rules_dir / "main.yaml").write_text(
        "rules:\n"
        "  - id: order\n"
        "    keywords: [order]\n"
        "    match: first\n"
        '    reply: "Noted."\n'
        '    forward: {url: "http://127.0.0.1:9/hooks/sms"}\n'
        'fallback:\n  reply: "Sorry?"\n',
        encoding="utf-8",
    )
    site = start_site()
    site.text("order 5")
    site.services.wakeup.set()
    # Nothing listens on the discard port, so the forward waits for a retry.
    wait_until(lambda: [m for m in site.outbound() if m.kind == "webhook" and m.attempts >= 1])
    site.text("STOP", gap_s=0)
    hook = next(m for m in site.outbound() if m.kind == "webhook")
    assert hook.status != "failed"
    assert hook.error_code != "opted_out"
