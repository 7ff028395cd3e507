"""The dashboard in headless Chromium: sign in, read a thread, reply by hand, pause, simulate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from responder import create_app
from responder.secret import Secret
from responder.services import Services
from tests.fakes.voximplant_api import FakeVoximplant
from tests.support import (
    OUR,
    THEIRS,
    deliver,
    serve,
    sms_callback,
    voximplant_config,
    wait_until,
)

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def site(config, fake_api) -> Iterator[tuple[str, Services, FakeVoximplant]]:
    """The service with its dashboard on, sending through the fake Voximplant API."""
    app = create_app(
        voximplant_config(
            config,
            fake_api.url,
            send_timeout_s=1.0,
            admin_password=Secret(PASSWORD),
            cookie_secure=False,  # plain http on loopback; the default is a Secure cookie
        )
    )
    services: Services = app.extensions["responder"]
    with serve(app) as url:
        yield url, services, fake_api
    if services.sender is not None:
        services.sender.stop()
    services.engine.dispose()


def receive(url: str, callback_id: int, text: str) -> None:
    deliver(url, sms_callback(callback_id, text))


def sent_texts(fake: FakeVoximplant) -> list[str]:
    return [r.params["sms_body"] for r in fake.sent]


def sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/dashboard/")
    expect(page).to_have_url(re.compile(r"/dashboard/login"))
    page.get_by_label("Admin password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()


def open_thread(page: Page) -> None:
    page.get_by_role("link", name=f"+{THEIRS}").click()
    expect(page.get_by_role("heading", name=f"+{THEIRS}")).to_be_visible()


def test_wrong_password_is_shown(page, site):
    url, _, _ = site
    page.goto(f"{url}/dashboard/login")
    page.get_by_label("Admin password").fill("guess")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong password.")


def test_hand_reply_reaches_the_provider(page, site):
    url, _, fake = site
    receive(url, 1, "hours")
    wait_until(lambda: fake.sent)
    sign_in(page, url)
    expect(page.locator("tr.unread")).to_have_count(1)
    open_thread(page)
    expect(page.locator(".message.in .body")).to_have_text("hours")
    page.locator(".message.in summary", has_text="Decision trace").click()
    expect(page.locator(".message.in .trace")).to_contain_text("Winner: hours")
    box = page.get_by_label("Reply text")
    box.fill("Hi, this is Sam from the shop.")
    expect(page.locator("#segment-count")).to_have_text("30 characters · GSM-7 · 1 segment")
    box.fill("Привет, это Сэм")
    expect(page.locator("#segment-count")).to_contain_text("UCS-2 · 1 segment")
    box.fill("Hi, this is Sam from the shop.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".flash")).to_have_text(f"Queued 1 message to +{THEIRS}.")
    wait_until(lambda: "Hi, this is Sam from the shop." in sent_texts(fake))
    manual = next(r for r in fake.sent if r.params["sms_body"].startswith("Hi, this is Sam"))
    assert manual.params["source"] == OUR
    assert manual.params["destination"] == THEIRS
    page.reload()
    expect(page.locator(".message.out").last).to_contain_text("manual")
    expect(page.locator(".message.out").last.locator(".meta .status")).to_have_text("sent")


def test_paused_thread_gets_no_automatic_reply(page, site):
    url, _services, fake = site
    receive(url, 2, "hours")
    wait_until(lambda: fake.sent)
    sign_in(page, url)
    open_thread(page)
    page.get_by_role("button", name="Pause automation").click()
    expect(page.locator(".handoff")).to_contain_text("Automatic replies paused until")
    receive(url, 3, "order 12")
    page.reload()
    expect(page.locator(".message.in")).to_have_count(2)
    last = page.locator(".message.in").last
    last.locator("summary", has_text="History").click()
    expect(last.locator(".history")).to_contain_text("automation paused for this thread")
    page.goto(f"{url}/dashboard/")
    expect(page.locator("td.marks")).to_contain_text("needs a human")
    assert len(sent_texts(fake)) == 1
    open_thread(page)
    page.get_by_role("button", name="Resume automation").click()
    receive(url, 4, "order 13")
    wait_until(lambda: "Order 13 is on its way" in " ".join(sent_texts(fake)))
    assert not any("Order 12" in text for text in sent_texts(fake))


class _Attacker(BaseHTTPRequestHandler):
    """Another site (same host, other port) whose page posts a reply form to the dashboard."""

    target = ""

    def do_GET(self) -> None:
        page = (
            f'<form id="f" method="post" action="{self.target}">'
            '<input name="text" value="Send me your money"><input name="pause" value="1"></form>'
            '<script>document.getElementById("f").submit()</script>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *args: object) -> None:
        pass


def test_forged_form_post_is_rejected(page, site):
    url, _services, fake = site
    receive(url, 5, "hours")
    wait_until(lambda: fake.sent)
    sign_in(page, url)
    open_thread(page)
    thread_path = page.url.split("#")[0]
    _Attacker.target = f"{thread_path}/reply"
    attacker = ThreadingHTTPServer(("127.0.0.1", 0), _Attacker)
    Thread(target=attacker.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{attacker.server_port}/")
        expect(page.get_by_role("alert")).to_contain_text("did not come from the dashboard")
    finally:
        attacker.shutdown()
        attacker.server_close()
    page.goto(thread_path)
    expect(page.locator(".message.out")).to_have_count(1)
    assert sent_texts(fake) == ["We are open 9:00-17:00, Monday to Friday."]


def test_simulator_shows_the_reply_and_sends_nothing(page, site):
    url, _, fake = site
    sign_in(page, url)
    page.get_by_role("link", name="Simulator").click()
    page.get_by_label("Their number").fill("+447443332213")
    page.get_by_label("Our number").fill(f"+{OUR}")
    page.get_by_label("Message").fill("order 7")
    page.get_by_role("button", name="Simulate").click()
    expect(page.locator("code.rule")).to_have_text("order-status")
    expect(page.locator(".reply-text")).to_have_text("Order 7 is on its way, 447443332213.")
    expect(page.locator(".result .trace")).to_contain_text("Winner: order-status")
    page.goto(f"{url}/dashboard/")
    expect(page.locator(".empty")).to_have_text("No conversations yet.")
    assert fake.requests == []
