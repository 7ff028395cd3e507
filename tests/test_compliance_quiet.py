"""Quiet hours: immediate answers go out at night, everything else waits for the morning."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from responder.compliance.quiet import describe_hold, quiet_until, zones_for
from responder.compliance.settings import QuietHours
from responder.outgoing import queue_manual
from tests.support import OUR, THEIRS, wait_until

HOURS = "We are open 9:00-17:00, Monday to Friday."
# London is on UTC in winter, so these are the recipient's local times too.
LATE = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
MORNING = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
STAFF = "447443332299"

FORWARDING_RULES = """\
rules:
  - id: staff
    keywords: [staff]
    match: first
    reply: "One of our team will text you back shortly."
    forward:
      sms: "+447443332299"
      text: "+{{ their_number }} asks for a person"
  - id: hours
    keywords: [hours]
    match: first
    reply: "We are open 9:00-17:00, Monday to Friday."
fallback:
  reply: "Sorry, we did not understand. Text HOURS for our opening hours."
"""


def broadcast(site, text="Our summer sale starts today", kind="broadcast", to=THEIRS):
    with site.services.engine.begin() as conn:
        return queue_manual(conn, site.services, OUR, to, text, kind=kind, now=site.clock())


def status_of(site, message_id):
    return next(m for m in site.outbound() if m.id == message_id)


def test_an_immediate_answer_goes_out_at_night(start_site):
    site = start_site(at=LATE)
    site.text("hours", gap_s=0)
    assert site.sent_bodies() == [HOURS]
    quiet = next(c for c in site.checks() if c["check"] == "quiet hours")
    assert quiet["result"] == "immediate answer allowed"
    assert quiet["until"] == MORNING.isoformat()


def test_a_broadcast_is_held_until_morning_then_sent(start_site):
    site = start_site(at=LATE)
    (message_id,) = broadcast(site)
    held = status_of(site, message_id)
    assert held.status == "held"
    assert held.error_text == (
        "held until 08:00 Europe/London, 2026-12-01 08:00 UTC "
        "(quiet hours 21:00-08:00 at the recipient)"
    )
    assert site.sent_bodies() == []
    site.clock.set(MORNING)
    site.settle()
    assert site.sent_bodies() == ["Our summer sale starts today"]
    sent = status_of(site, message_id)
    assert (sent.status, sent.error_text) == ("sent", None)


def test_a_broadcast_in_the_day_goes_at_once(start_site):
    site = start_site()
    broadcast(site)
    assert site.sent_bodies() == ["Our summer sale starts today"]


def test_a_retry_older_than_a_few_minutes_waits_for_morning(start_site):
    site = start_site(at=LATE)
    site.fake.fail_next(n=1, status=503)
    site.text("hours", gap_s=0)
    (reply,) = site.outbound()
    site.services.wakeup.set()
    wait_until(lambda: status_of(site, reply.id).status == "errored")
    site.clock.advance(minutes=10)
    site.services.wakeup.set()
    wait_until(lambda: status_of(site, reply.id).status == "held")
    assert site.sent_bodies() == []
    site.clock.set(MORNING)
    assert site.sent_bodies() == [HOURS]
    statuses = [s for s, _d in site.events(reply.id)]
    assert statuses == ["queued", "sending", "errored", "sending", "held", "sending", "sent"]


def test_a_hand_reply_to_a_fresh_message_goes_at_once_a_late_one_waits(start_site):
    site = start_site(at=LATE)
    site.text("something odd", gap_s=0)
    site.clock.advance(minutes=2)
    broadcast(site, "Thanks, we will look into it", kind="manual")
    assert site.sent_bodies()[-1] == "Thanks, we will look into it"
    site.clock.advance(minutes=30)
    (later,) = broadcast(site, "Any news?", kind="manual")
    assert status_of(site, later).status == "held"


def test_forwards_to_staff_are_not_held(start_site, rules_dir):
    (rules_dir / "main.yaml").write_text(FORWARDING_RULES, encoding="utf-8")
    site = start_site(at=LATE)
    site.text("staff", gap_s=0)
    assert site.sent_bodies(to=STAFF) == [f"+{THEIRS} asks for a person"]


def test_quiet_hours_can_be_turned_off(start_site):
    site = start_site(at=LATE, quiet=QuietHours(enabled=False))
    broadcast(site)
    assert site.sent_bodies() == ["Our summer sale starts today"]


@pytest.mark.parametrize(
    ("number", "zones", "now", "expected"),
    [
        pytest.param("12125550100", (), "2026-12-01T02:30", "2026-12-01T13:00", id="ny-night"),
        pytest.param("12125550100", (), "2026-12-01T14:00", None, id="new-york-day"),
        pytest.param(
            "12125550100", (("1", "Europe/London"),), "2026-12-01T02:30", "2026-12-01T08:00",
            id="override-by-prefix",
        ),
        pytest.param(
            "12125550100", (("", "Asia/Tokyo"),), "2026-12-01T02:30", None, id="override-all"
        ),
        # Moscow is quiet until 05:00 UTC, but the number may be in Vladivostok (UTC+10) too,
        # where 21:00 has come by then: it waits for the first hour that is day in both.
        pytest.param(
            "79161234567", (("7", "Europe/Moscow"),), "2026-12-01T02:00", "2026-12-01T05:00",
            id="russia-moscow",
        ),
    ],
)  # fmt: skip
def test_quiet_window_in_the_recipients_zone(number, zones, now, expected):
    quiet = QuietHours(zones=zones)
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    until = quiet_until(number, at, quiet)
    assert until == (
        None if expected is None else datetime.fromisoformat(expected).replace(tzinfo=UTC)
    )


def test_a_number_in_many_zones_waits_for_day_in_all_of_them():
    quiet = QuietHours(start=time(21, 0), end=time(8, 0))
    # An Australian mobile may be anywhere from the Cocos Islands (UTC+6:30) to Sydney
    # (UTC+11 in December): day in all of them runs from 01:30 to 10:00 UTC.
    zones = zones_for("61412345678", quiet)
    assert {"Indian/Cocos", "Australia/Perth", "Australia/Sydney"} <= set(zones)
    assert quiet_until("61412345678", datetime(2026, 12, 1, 2, 0, tzinfo=UTC), quiet) is None
    first_light = datetime(2026, 12, 1, 1, 30, tzinfo=UTC)
    assert quiet_until("61412345678", datetime(2026, 12, 1, 0, 0, tzinfo=UTC), quiet) == first_light
    evening = datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
    assert quiet_until("61412345678", evening, quiet) == first_light


def test_the_hold_is_described_in_the_recipients_time():
    quiet = QuietHours()
    at = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)
    until = quiet_until("12125550100", at, quiet)
    assert describe_hold("12125550100", until, quiet) == (
        "held until 08:00 America/New_York, 2026-12-01 13:00 UTC "
        "(quiet hours 21:00-08:00 at the recipient)"
    )
