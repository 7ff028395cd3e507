"""The operator dashboard over real HTTP: sign-in, CSRF, every route guarded, inbox, threads."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select, text
from werkzeug.security import generate_password_hash

from responder import create_app
from responder.compliance.optout import Keyword, change_consent
from responder.config import Config
from responder.errors import ConfigError
from responder.migrations import upgrade
from responder.secret import Secret
from responder.store.db import make_engine
from responder.store.tables import messages
from responder.store.threads import inbox_query
from tests.compliance_support import NOON, ManualClock
from tests.support import (
    DASHBOARD_PASSWORD,
    OUR,
    THEIRS,
    Operator,
    deliver,
    outbound_messages,
    serve,
    sms_callback,
    wait_until,
)

PUBLIC = {"dashboard.login", "dashboard.static"}


@pytest.fixture
def config(config):
    """The shared test config with the dashboard on, over plain http on loopback."""
    return config.with_changes(admin_password=Secret(DASHBOARD_PASSWORD), cookie_secure=False)


def thread_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-thread="(\d+)"', html)]


def outbound(services) -> list:
    return outbound_messages(services.engine)


def route_urls(app) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, url) for every dashboard route, arguments filled in."""
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("dashboard."):
            continue
        args = {
            name: 1 if type(conv).__name__ == "IntegerConverter" else "dashboard.css"
            for name, conv in rule._converters.items()
        }
        path = rule.build(args, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


def registered_routes(config) -> list[tuple[str, str, str]]:
    """route_urls of an app built from *config*; fails on a /dashboard URL outside the blueprint."""
    app = create_app(config, start_sender=False)
    try:
        outside = [
            r.rule
            for r in app.url_map.iter_rules()
            if r.rule.startswith("/dashboard") and not r.endpoint.startswith("dashboard.")
        ]
        assert outside == []  # anything under /dashboard is the blueprint's, so guard() covers it
        return list(route_urls(app))
    finally:
        app.extensions["responder"].engine.dispose()


# --- sign-in and the guard on every route ------------------------------------------------


def test_every_dashboard_route_needs_sign_in(live):
    url, services = live
    routes = registered_routes(services.config)
    assert {e for e, _, _ in routes} >= {"dashboard.inbox", "dashboard.thread", "dashboard.reply"}
    deliver(url, sms_callback(1, "hours"))  # thread 1 exists, so a leak would show its data
    stranger = requests.Session()
    checked = 0
    for endpoint, method, path in routes:
        if endpoint in PUBLIC:
            continue
        response = stranger.request(method, url + path, allow_redirects=False, timeout=10)
        if method == "GET":
            assert response.status_code == 302, (endpoint, response.status_code)
            assert response.headers["Location"].startswith("/dashboard/login?next="), endpoint
        else:
            assert response.status_code == 401, (endpoint, method, response.status_code)
            assert "Sign in first" in response.text
        assert THEIRS not in response.text
        assert "hours" not in response.text.lower()
        checked += 1
    assert checked >= 8


def test_every_write_needs_the_csrf_token(operator, live):
    url, services = live
    deliver(url, sms_callback(2, "hours"))
    writes = [(e, p) for e, m, p in registered_routes(services.config) if m == "POST"]
    assert len(writes) >= 4
    for endpoint, path in writes:
        for token in (None, "forged-" + operator.token[7:]):
            data = {"text": "hi", "password": DASHBOARD_PASSWORD}
            if token is not None:
                data["csrf_token"] = token
            response = operator.post(path, data, token=False, allow_redirects=False)
            assert response.status_code == 400, (endpoint, token, response.status_code)
            assert "did not come from the dashboard" in response.text
    assert [m.kind for m in outbound(services)] == ["reply"]  # only the rule's own reply


def test_dashboard_is_off_without_a_password(live):
    _url, services = live
    app = create_app(services.config.with_changes(admin_password=None), start_sender=False)
    with serve(app) as other:
        for _endpoint, method, path in route_urls(app):
            response = requests.request(method, other + path, allow_redirects=False, timeout=10)
            assert response.status_code == 404, (path, method)
            assert "RESPONDER_ADMIN_PASSWORD" in response.text
    app.extensions["responder"].engine.dispose()


def test_wrong_password_is_refused_and_attempts_are_limited(live):
    url, _ = live
    person = Operator(url)
    for _ in range(5):
        assert person.sign_in("guess").status_code == 401
    response = person.sign_in(DASHBOARD_PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in response.text
    assert person.get("/dashboard/", allow_redirects=False).status_code == 302


def test_sign_in_without_the_form_token_is_refused(live):
    url, _ = live
    response = requests.post(
        f"{url}/dashboard/login",
        data={"password": DASHBOARD_PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400


def test_a_stored_password_hash_is_accepted(config):
    hashed = generate_password_hash(DASHBOARD_PASSWORD)
    app = create_app(config.with_changes(admin_password=Secret(hashed)), start_sender=False)
    with serve(app) as url:
        assert Operator(url).sign_in().status_code == 302
        assert Operator(url).sign_in(hashed).status_code == 401
    app.extensions["responder"].engine.dispose()


def test_session_cookie_is_secure_httponly_samesite_by_default(config):
    app = create_app(config.with_changes(cookie_secure=True), start_sender=False)
    with serve(app) as url:
        cookie = requests.get(f"{url}/dashboard/login", timeout=10).headers["Set-Cookie"]
    app.extensions["responder"].engine.dispose()
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


@pytest.mark.parametrize(
    ("value", "secure"), [(None, True), ("false", False), ("off", False), ("1", True)]
)
def test_cookie_secure_setting(rules_dir, tmp_path, value, secure):
    env = {"RESPONDER_RULES_DIR": str(rules_dir), "RESPONDER_DATA_DIR": str(tmp_path / "d")}
    if value is not None:
        env["RESPONDER_COOKIE_SECURE"] = value
    assert Config.from_env(env).cookie_secure is secure


def test_cookie_secure_setting_names_a_bad_value(rules_dir, tmp_path):
    env = {"RESPONDER_RULES_DIR": str(rules_dir), "RESPONDER_COOKIE_SECURE": "maybe"}
    with pytest.raises(ConfigError) as caught:
        Config.from_env(env, cwd=tmp_path)
    assert "RESPONDER_COOKIE_SECURE: expected true or false (got 'maybe')" in caught.value.problems


def test_sign_in_returns_only_to_a_dashboard_page(live):
    url, _ = live
    person = Operator(url)
    person.get("/dashboard/login")
    for target, expected in (
        ("//evil.example/x", "/dashboard/"),
        ("https://evil.example/", "/dashboard/"),
        ("/dashboard/rules", "/dashboard/rules"),
    ):
        person.http.cookies.clear()
        person.get("/dashboard/login")
        response = person.post(
            "/dashboard/login",
            {"password": DASHBOARD_PASSWORD, "next": target},
            allow_redirects=False,
        )
        assert response.headers["Location"] == expected


def test_sign_out_ends_the_session(operator):
    assert operator.post("/dashboard/logout", allow_redirects=False).status_code == 302
    assert operator.get("/dashboard/", allow_redirects=False).status_code == 302


# --- inbox ---------------------------------------------------------------------------------


def test_inbox_lists_threads_newest_first_with_unread_and_handoff_marks(operator, live):
    url, _services = live
    deliver(url, sms_callback(10, "hours", source="447700900001"))
    deliver(url, sms_callback(11, "where is my parcel", source="447700900002"))
    deliver(url, sms_callback(12, "hours", source="447700900003"))
    page = operator.get("/dashboard/").text
    first, second, third = thread_ids(page)
    assert page.index("+447700900003") < page.index("+447700900002") < page.index("+447700900001")
    assert page.count("1 unread") == 3
    operator.post(f"/dashboard/threads/{second}/pause")
    operator.get(f"/dashboard/threads/{first}")
    page = operator.get("/dashboard/").text
    assert page.count("1 unread") == 1  # the two opened threads are read now
    row = page[page.index(f'data-thread="{second}"') :].split("</tr>")[0]
    assert "needs a human" in row
    assert page.count('class="badge human"') == 1  # the paused thread's only
    assert third


ATTENTION_RULES = {
    "main.yaml": r"""
rules:
  - {id: hours, keywords: [hours], match: first, reply: "Open 9-5"}
  - {id: order-status, match: regex, pattern: '^order\s+(?P<n>\d+)$', reply: "On its way"}
""",
    "other.yaml": """
numbers: ["447443332299"]
budget: {replies: 1, per: 1h}
rules:
  - {id: prices, keywords: [prices], match: first, reply: "From 10 GBP"}
""",
}


def inbox_marks(page: str) -> dict[str, bool]:
    """Their number -> whether its inbox row says "needs a human"."""
    rows = re.findall(r'<tr class="[^"]*" data-thread="\d+">(.*?)</tr>', page, re.S)
    return {re.search(r">\+(\d+)</a>", row).group(1): "needs a human" in row for row in rows}


def test_inbox_marks_threads_left_unanswered_and_filters_them(operator, live, rules_dir):
    url, services = live
    old = services.rules.current().version
    for name, body in ATTENTION_RULES.items():
        (rules_dir / name).write_text(body, encoding="utf-8")
    wait_until(lambda: services.rules.current().version != old and not services.rules.last_problems)
    ids = iter(range(300, 400))

    def send(number: str, *words: str, to: str = OUR) -> None:
        for word in words:
            deliver(
                url, sms_callback(next(ids), word, source=f"4474433323{number}", destination=to)
            )

    send("01", "hours")  # answered
    send("02", "tell me more")  # no rule, no fallback
    send("03", "prices", "prices", to="447443332299")  # the second is over the budget
    send("04", "tell me more")  # answered by hand below
    send("05", "hours")  # paused below
    send("06", "STOP", "tell me more")  # opted out: silence on purpose
    send("07", "order 1", "order 1", "order 1")  # the third opens the loop breaker
    send("08", "tell me more", "hours")  # the latest message was answered
    page = operator.get("/dashboard/").text
    by_number = dict(zip(re.findall(r">\+(\d+)</a>", page), thread_ids(page), strict=True))
    operator.get(f"/dashboard/threads/{by_number['447443332304']}")
    operator.post(f"/dashboard/threads/{by_number['447443332304']}/reply", {"text": "Sam here"})
    operator.post(f"/dashboard/threads/{by_number['447443332305']}/pause")
    needing = ["447443332307", "447443332305", "447443332303", "447443332302"]  # newest first
    marks = inbox_marks(operator.get("/dashboard/").text)
    assert sorted(n for n, marked in marks.items() if marked) == sorted(needing)
    assert len(marks) == 8
    filtered = operator.get("/dashboard/", params={"needs": "human"}).text
    assert list(inbox_marks(filtered)) == needing
    for number, thread_id in by_number.items():
        thread_page = operator.get(f"/dashboard/threads/{thread_id}").text
        assert ("needs a human" in thread_page) == (number in needing), number
    assert "Only threads that need a human" in filtered
    send("02", "hours")  # answered now: the mark goes
    filtered = operator.get("/dashboard/", params={"needs": "human"}).text
    assert list(inbox_marks(filtered)) == needing[:3]
    bad = operator.get("/dashboard/", params={"needs": "robot"})
    assert bad.status_code == 400
    assert "'needs' may only be 'human'" in html.unescape(bad.text)


@pytest.mark.parametrize("needs_human", [False, True], ids=["all", "needs-human"])
def test_the_inbox_walks_the_last_activity_index(database_url, tmp_path, needs_human):
    engine = make_engine(database_url, data_dir=tmp_path)
    upgrade(engine)
    query = inbox_query(needs_human_at=datetime.now(UTC) if needs_human else None).limit(51)
    try:
        with engine.begin() as conn:
            explain = "EXPLAIN QUERY PLAN" if conn.dialect.name == "sqlite" else "EXPLAIN"
            if conn.dialect.name == "postgresql":
                # An empty table is read whole at any cost; ask whether an index can serve.
                conn.execute(text("SET LOCAL enable_seqscan = off"))
            sql = query.compile(engine, compile_kwargs={"literal_binds": True})
            plan = "\n".join(str(row[-1]) for row in conn.execute(text(f"{explain} {sql}")))
    finally:
        engine.dispose()
    assert "ix_threads_last_activity" in plan, plan
    assert "Sort" not in plan  # pages stop at the limit instead of sorting every thread
    assert "TEMP B-TREE" not in plan, plan
    # The mark of each thread: an index lookup from one row, never a scan of all messages.
    assert "SCAN messages" not in plan, plan
    assert "Seq Scan on messages" not in plan, plan


def test_inbox_search_by_number_or_text(operator, live):
    url, _ = live
    deliver(url, sms_callback(20, "hours", source="447700900011"))
    deliver(url, sms_callback(21, "my Parcel 100% late", source="447700900022"))
    by_number = operator.get("/dashboard/", params={"q": "+44 7700 900011"}).text
    assert "+447700900011" in by_number
    assert "+447700900022" not in by_number
    by_text = operator.get("/dashboard/", params={"q": "parcel 100%"}).text
    assert "+447700900022" in by_text
    assert "+447700900011" not in by_text
    assert "No thread matches" in operator.get("/dashboard/", params={"q": "100_"}).text


def test_inbox_pages_fifty_threads_at_a_time(operator, live):
    url, _ = live
    deliver(url, *[sms_callback(100 + i, "hi", source=f"4477009{i:05d}") for i in range(55)])
    first = operator.get("/dashboard/").text
    assert len(thread_ids(first)) == 50
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = operator.get(older).text
    assert len(thread_ids(second)) == 5
    assert not set(thread_ids(first)) & set(thread_ids(second))
    assert 'rel="next"' not in second


def test_bad_inbox_cursor_is_a_clear_400(operator):
    response = operator.get("/dashboard/", params={"before": "yesterday"})
    assert response.status_code == 400
    assert "'before' must be a time and a thread id" in html.unescape(response.text)


# --- thread --------------------------------------------------------------------------------


def test_thread_shows_messages_history_and_decision_trace(operator, live):
    url, services = live
    deliver(url, sms_callback(30, "order 77"))
    wait_until(lambda: [m for m in outbound(services) if m.status == "sent"])
    thread_id = thread_ids(operator.get("/dashboard/").text)[0]
    page = operator.get(f"/dashboard/threads/{thread_id}").text
    assert "order 77" in page
    assert f"Order 77 is on its way, {THEIRS}." in page
    assert "← in" in page
    assert "→ out" in page
    assert "order-status" in page
    assert "GSM-7, 1 segment" in page
    history = re.findall(r'class="status status-(\w+)"', page)
    assert history[:4] == ["handled", "received", "handled", "sent"]
    assert "queued" in history
    assert "sending" in history
    assert "Decision trace" in page
    assert "Winner:</strong> order-status" in page
    # The rule's place, named from the rules directory's parent, not as an absolute path.
    assert '<td class="muted">rules/main.yaml:6:5</td>' in page
    assert f"{services.config.rules_dir}/main.yaml" not in page


def test_long_thread_pages_back_fifty_messages_at_a_time(operator, live):
    url, services = live
    deliver(url, *[sms_callback(200 + i, f"note number {i}") for i in range(60)])
    with services.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(messages)).scalar_one()
    thread_id = thread_ids(operator.get("/dashboard/").text)[0]
    newest = operator.get(f"/dashboard/threads/{thread_id}").text
    assert newest.count('<li class="message') == 50
    assert "note number 59" in newest
    older = re.search(r'href="([^"]+)">Older messages', newest).group(1)
    rest = operator.get(older).text
    assert rest.count('<li class="message') == total - 50
    assert "note number 0<" in rest
    assert "Newest messages" in rest


def test_unknown_thread_is_a_404_page(operator):
    response = operator.get("/dashboard/threads/999")
    assert response.status_code == 404
    assert "There is no thread 999" in response.text


# --- hand replies and handoff --------------------------------------------------------------


def test_hand_reply_is_queued_and_sent(operator, live):
    url, services = live
    deliver(url, sms_callback(40, "hours"))
    thread_id = thread_ids(operator.get("/dashboard/").text)[0]
    operator.get(f"/dashboard/threads/{thread_id}")
    response = operator.post(
        f"/dashboard/threads/{thread_id}/reply", {"text": "Hello from Sam", "pause": "1"}
    )
    assert response.status_code == 200
    assert f"Queued 1 message to +{THEIRS}." in response.text
    manual = wait_until(
        lambda: [m for m in outbound(services) if m.kind == "manual" and m.status == "sent"]
    )
    assert manual[0].text == "Hello from Sam"
    assert "needs a human" in response.text  # the form's "pause automation" box was ticked


def test_empty_hand_reply_is_refused_with_the_reason(operator, live):
    url, services = live
    deliver(url, sms_callback(41, "hours"))
    thread_id = thread_ids(operator.get("/dashboard/").text)[0]
    operator.get(f"/dashboard/threads/{thread_id}")
    response = operator.post(f"/dashboard/threads/{thread_id}/reply", {"text": " \u200b "})
    assert response.status_code == 400
    assert "Not sent: cannot send this text: empty reply" in response.text
    assert [m.kind for m in outbound(services)] == ["reply"]


def test_hand_reply_to_an_opted_out_number_is_refused(operator, live):
    url, services = live
    deliver(url, sms_callback(42, "hours"))
    with services.engine.begin() as conn:
        change_consent(
            conn, services.config.compliance, Keyword.OPT_OUT, OUR, THEIRS, "STOP", services.clock()
        )
    thread_id = thread_ids(operator.get("/dashboard/").text)[0]
    operator.get(f"/dashboard/threads/{thread_id}")
    response = operator.post(f"/dashboard/threads/{thread_id}/reply", {"text": "Still there?"})
    assert response.status_code == 400
    assert f"Not sent: {THEIRS} has opted out of messages from {OUR}" in response.text
    assert "Still there?" in response.text  # the draft is kept
    assert [m.kind for m in outbound(services)] == ["reply"]


def test_paused_thread_gets_no_automatic_reply_until_resumed(operator, live):
    url, services = live
    deliver(url, sms_callback(50, "hours"))
    wait_until(lambda: len(outbound(services)) == 1)
    thread_id = thread_ids(operator.get("/dashboard/").text)[0]
    operator.get(f"/dashboard/threads/{thread_id}")
    page = operator.post(f"/dashboard/threads/{thread_id}/pause").text
    assert "Automatic replies paused until" in page
    deliver(url, sms_callback(51, "hours"))
    page = operator.get(f"/dashboard/threads/{thread_id}").text
    assert "automation paused for this thread" in page
    assert len(outbound(services)) == 1
    operator.post(f"/dashboard/threads/{thread_id}/resume")
    deliver(url, sms_callback(52, "order 9"))
    assert [m.rule_id for m in outbound(services)] == ["hours", "order-status"]


def test_each_message_and_hand_reply_during_a_pause_extends_it(operator, live):
    url, services = live
    clock = services.clock = ManualClock(NOON)
    idle = services.config.handoff_idle_s / 60  # minutes
    deliver(url, sms_callback(70, "hours"))
    thread_id = thread_ids(operator.get("/dashboard/").text)[0]
    operator.get(f"/dashboard/threads/{thread_id}")
    operator.post(f"/dashboard/threads/{thread_id}/pause")
    clock.advance(minutes=idle - 10)
    deliver(url, sms_callback(71, "Are you still there?"))
    clock.advance(minutes=30)  # past the first pause's end, within the second
    deliver(url, sms_callback(72, "hours"))
    page = operator.get(f"/dashboard/threads/{thread_id}").text
    resumes = NOON + timedelta(minutes=2 * idle + 20)
    assert f"Automatic replies paused until {resumes:%Y-%m-%d %H:%M:%S} UTC" in page
    clock.advance(minutes=30)
    operator.post(f"/dashboard/threads/{thread_id}/reply", {"text": "Yes, Sam here."})  # no box
    clock.advance(minutes=idle - 5)  # past the last message's pause, within the hand reply's
    deliver(url, sms_callback(73, "hours"))
    assert [m.kind for m in outbound(services)] == ["reply", "manual"]
    clock.advance(minutes=idle + 1)  # an idle time with no word from either side: rules again
    deliver(url, sms_callback(74, "hours"))
    assert [m.kind for m in outbound(services)] == ["reply", "manual", "reply"]


def test_paused_thread_still_gets_compliance_answers(operator, live):
    url, services = live
    deliver(url, sms_callback(60, "hours"))
    thread_id = thread_ids(operator.get("/dashboard/").text)[0]
    operator.get(f"/dashboard/threads/{thread_id}")
    operator.post(f"/dashboard/threads/{thread_id}/pause")
    deliver(url, sms_callback(61, "STOP"))
    replies = wait_until(lambda: [m for m in outbound(services) if m.kind == "compliance"])
    assert replies[0].text == services.config.compliance.opt_out_reply


def test_segment_counter(operator):
    def count(text: str) -> dict:
        return operator.get("/dashboard/segments", params={"text": text}).json()

    assert count("Hello") == {"characters": 5, "messages": 1, "encoding": "GSM-7", "segments": 1}
    assert count("x" * 161)["segments"] == 2
    assert count("Привет")["encoding"] == "UCS-2"
    assert count("a " * 400)["messages"] == 2
    # It never writes the session back, so it cannot undo a form post's flash message.
    assert "Set-Cookie" not in operator.get("/dashboard/segments?text=hi").headers
    too_long = operator.get("/dashboard/segments", params={"text": "x" * 5000})
    assert too_long.status_code == 400
    assert "limited to" in too_long.json()["error"]
