"""The loop breaker over real HTTP: it opens on a loop, says why, and closes after a cool-down."""

from __future__ import annotations

from responder.compliance.settings import DEFAULT_HELP_REPLY, BreakerSettings

HOURS = "We are open 9:00-17:00, Monday to Friday."
FALLBACK = "Sorry, we did not understand. Text HOURS for our opening hours."


def breaker_check(site):
    return next(c for c in site.checks() if c["check"] == "loop breaker")


def test_breaker_opens_after_n_replies_and_closes_after_the_cool_down(start_site):
    site = start_site(breaker=BreakerSettings(max_replies=3, window_s=600, cooldown_s=1800))
    for text in ("hours", "open?", "order 1"):
        site.text(text, gap_s=60)
    assert len(site.sent_bodies()) == 3
    site.text("order 2", gap_s=60)
    assert len(site.sent_bodies()) == 3
    opened = breaker_check(site)
    assert opened["result"] == "opened"
    assert opened["reason"] == "more than 3 automatic replies within 10 min"
    # Compliance answers are exempt.
    site.text("help", gap_s=60)
    assert site.sent_bodies()[-1] == DEFAULT_HELP_REPLY
    site.text("hours", gap_s=60)
    assert breaker_check(site)["result"] == "open"
    assert len(site.sent_bodies()) == 4
    site.clock.advance(minutes=30)
    site.text("hours", gap_s=1)
    assert breaker_check(site)["result"] == "closed"
    assert site.sent_bodies()[-1] == HOURS


def test_replies_spread_over_more_than_the_window_never_open_it(start_site):
    site = start_site(breaker=BreakerSettings(max_replies=2, window_s=600))
    for text in ("hours", "order 1", "open", "order 2", "hours please"):
        site.text(text, gap_s=400)
    assert len(site.sent_bodies()) == 5
    assert breaker_check(site)["result"] == "closed"


def test_ping_pong_opens_the_breaker(start_site):
    site = start_site(breaker=BreakerSettings(pingpong_s=5, pingpong_count=3))
    site.text("hello there", gap_s=60)
    for n in range(3):
        site.text(f"Sorry, I did not get that ({n})", gap_s=2)
    assert len(site.sent_bodies()) == 3
    check = breaker_check(site)
    assert check["result"] == "opened"
    assert check["reason"] == "ping-pong: 3 messages in a row arrived within 5 s of our reply"


def test_people_who_take_their_time_are_not_a_ping_pong(start_site):
    site = start_site(breaker=BreakerSettings(pingpong_s=5, pingpong_count=3))
    for n in range(5):
        site.text(f"question {n}", gap_s=30)
    assert len(site.sent_bodies()) == 5


def test_the_same_text_repeating_opens_the_breaker(start_site):
    site = start_site(breaker=BreakerSettings(repeats=3))
    site.text("Your code is 1234", gap_s=60)
    site.text("your code is 1234!", gap_s=60)
    site.text("Your code is 1234", gap_s=60)
    assert len(site.sent_bodies()) == 2
    assert breaker_check(site)["reason"] == "the same message arrived 3 times in a row"
    assert "loop breaker open until" in site.events(site.last_inbound().id)[-1][1]


def test_breaker_can_be_turned_off(start_site):
    site = start_site(breaker=BreakerSettings(enabled=False, max_replies=1))
    for _ in range(4):
        site.text("hours", gap_s=1)
    assert site.sent_bodies() == [HOURS] * 4
    assert breaker_check(site)["result"] == "off"
