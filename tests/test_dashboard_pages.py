"""Dashboard reports over real HTTP: opt-outs and the ledger, rules and their hits, simulator."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from responder import create_app
from responder.compliance.optout import Keyword, change_consent
from responder.dashboard.chart import daily_chart, last_days
from responder.secret import Secret
from responder.store.tables import consent_ledger, messages, opt_outs, threads
from tests.support import (
    DASHBOARD_PASSWORD,
    OUR,
    Operator,
    deliver,
    serve,
    sms_callback,
    wait_until,
)


@pytest.fixture
def config(config):
    return config.with_changes(admin_password=Secret(DASHBOARD_PASSWORD), cookie_secure=False)


def rows(services, table) -> int:
    with services.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_optouts_page_lists_who_is_out_and_every_ledger_entry(operator, live):
    _, services = live
    settings = services.config.compliance
    now = services.clock()
    with services.engine.begin() as conn:
        change_consent(conn, settings, Keyword.OPT_OUT, OUR, "447700900101", "STOP please", now)
        change_consent(conn, settings, Keyword.OPT_OUT, OUR, "447700900102", "Unsubscribe", now)
        change_consent(conn, settings, Keyword.OPT_IN, OUR, "447700900102", "START", now)
    page = html.unescape(operator.get("/dashboard/optouts").text)
    listed, ledger = page.split("Consent ledger")
    assert "+447700900101" in listed
    assert "+447700900102" not in listed
    assert [m for m in ("STOP please", "Unsubscribe", "START") if m in ledger] == [
        "STOP please",
        "Unsubscribe",
        "START",
    ]
    assert ledger.index("START") < ledger.index("Unsubscribe")  # newest first
    only = operator.get("/dashboard/optouts", params={"number": "+44 7700 900102"}).text
    assert "+447700900101" not in only
    assert "Unsubscribe" in only


def test_optouts_filter_with_a_bad_number_is_a_clear_400(operator):
    response = operator.get("/dashboard/optouts", params={"number": "nobody"})
    assert response.status_code == 400
    assert "'number' must be a phone number (got 'nobody')" in html.unescape(response.text)


def test_rules_page_shows_version_hits_and_rules_that_never_fired(operator, live):
    url, services = live
    deliver(url, sms_callback(1, "hours", source="447700900201"))
    deliver(url, sms_callback(2, "open?", source="447700900202"))
    deliver(url, sms_callback(3, "order 5", source="447700900203"))
    page = operator.get("/dashboard/rules").text
    assert services.rules.current().version in page
    hours = page[page.index('data-rule="hours"') :].split("</tr>")[0]
    assert f"<title>{services.clock().date()}: 2</title>" in hours
    assert re.search(r"<td>2</td>\s*<td>\s*<svg", hours)
    assert 'data-rule="order-status"' in page
    never = page[page.index("Rules that never fired") :]
    assert "fallback" in never
    assert "<code>hours</code>" not in never
    assert "Problems of the last reload" in page


def test_rules_page_shows_the_problems_of_a_refused_reload(operator, live, rules_dir):
    _, services = live
    version = services.rules.current().version
    (rules_dir / "broken.yaml").write_text("rules:\n  - id: x\n    match: sometimes\n")
    wait_until(lambda: services.rules.current() and services.rules.last_problems)
    page = html.unescape(operator.get("/dashboard/rules").text)
    assert version in page  # the last good set stays live
    assert "<code>rules/broken.yaml:3:12</code>" in page  # from the rules directory's parent
    assert f"{rules_dir}/broken.yaml" not in page
    assert "sometimes" in page


def test_rules_page_and_simulator_say_when_no_rule_set_is_live(config, rules_dir):
    (rules_dir / "main.yaml").write_text("rules:\n  - id: x\n    match: sometimes\n")
    app = create_app(config, start_sender=False)
    with serve(app) as url:
        person = Operator(url)
        person.sign_in()
        page = html.unescape(person.get("/dashboard/rules").text)
        assert "No rule set is live" in page
        assert "main.yaml:3" in page
        person.get("/dashboard/simulator")
        response = person.post("/dashboard/simulator", {"their": OUR, "ours": OUR, "text": "hi"})
        assert response.status_code == 409
        assert "main.yaml:3" in html.unescape(response.text)
    app.extensions["responder"].engine.dispose()


def test_simulator_shows_rule_reply_and_trace_and_stores_nothing(operator, live):
    _, services = live
    page = operator.get("/dashboard/simulator").text
    assert 'name="csrf_token"' in page
    response = operator.post(
        "/dashboard/simulator", {"their": "+447443332213", "ours": OUR, "text": "order 42"}
    )
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert '<code class="rule">order-status</code>' in page
    assert "Order 42 is on its way, 447443332213." in page
    assert "GSM-7, 1 segment" in page
    assert "Winner:</strong> order-status" in page
    assert rows(services, messages) == 0
    assert rows(services, threads) == 0


def test_simulator_runs_compliance_first_and_records_no_consent(operator, live):
    _, services = live
    operator.get("/dashboard/simulator")
    response = operator.post(
        "/dashboard/simulator", {"their": "+447443332213", "ours": OUR, "text": "STOP"}
    )
    page = html.unescape(response.text)
    assert services.config.compliance.opt_out_reply in page
    assert "compliance keyword" in page
    assert rows(services, consent_ledger) == 0
    assert rows(services, opt_outs) == 0
    assert rows(services, messages) == 0


def test_simulator_names_each_bad_field(operator):
    operator.get("/dashboard/simulator")
    response = operator.post("/dashboard/simulator", {"their": "abc", "ours": OUR, "text": " "})
    assert response.status_code == 400
    page = html.unescape(response.text)
    assert "Their number: 'abc' is not a phone number" in page
    assert "Message: type the text they would send" in page
    assert "Our number" not in page.split('role="alert"')[1].split("</ul>")[0]


def test_daily_chart_scales_to_the_busiest_day():
    days = last_days(date(2026, 3, 31), 3)
    assert days == [date(2026, 3, 29), date(2026, 3, 30), date(2026, 3, 31)]
    chart = daily_chart({days[0]: 1, days[2]: 40}, days, width=30, height=40)
    assert [b.count for b in chart.bars] == [1, 0, 40]
    assert [b.height for b in chart.bars] == [1.0, 0.0, 40.0]
    assert chart.bars[2].y == 0
    assert (chart.peak, chart.total) == (40, 41)
