"""The README's dashboard screenshots: python -m tests.dashboard_screenshots [--every-page] [DIR].

Starts the service on the sample rules with the log provider, plays a few conversations
through the callback endpoint, and photographs the inbox and one thread in headless Chromium.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from responder import create_app
from responder.config import Config
from responder.secret import Secret
from responder.services import Services
from responder.store.tables import messages
from tests.support import batch, serve, sms_callback, wait_until

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "screenshots"
CONVERSATIONS = [
    ("447443332212", ["What are your opening hours?", "repair 4521"]),
    ("447443332215", ["Can I talk to a person please"]),
    ("447443332216", ["How much is a new screen?"]),
    ("447443332217", ["I'd like to book an appointment", "Tuesday"]),
    ("447443332218", ["Thanks 👍"]),
    ("447443332219", ["STOP"]),
]


def manual_sent(services: Services) -> bool:
    with services.engine.connect() as conn:
        query = select(messages.c.id).where(messages.c.kind == "manual")
        return conn.execute(query.where(messages.c.status == "sent")).first() is not None


def main(out_dir: Path, *, every_page: bool = False) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        config = Config.for_data_dir(
            Path(tmp) / "data",
            ROOT / "rules",
            admin_password=Secret(PASSWORD),
            cookie_secure=False,
        )
        app = create_app(config)
        services = app.extensions["responder"]
        with serve(app) as url:
            callback_id = 1
            for their, texts in CONVERSATIONS:
                for text in texts:
                    body = batch(sms_callback(callback_id, text, source=their, signed=False))
                    requests.post(f"{url}/voximplant/callback", data=body, timeout=10)
                    callback_id += 1
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
                page = browser.new_page(viewport={"width": 1180, "height": 640})
                page.goto(f"{url}/dashboard/login")
                page.get_by_label("Admin password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("link", name="+447443332212").click()
                page.get_by_label("Reply text").fill(
                    "Hi, this is Sam: your phone is ready, see you before 6."
                )
                page.get_by_role("button", name="Send").click()
                page.locator(".flash").wait_for()
                wait_until(lambda: manual_sent(services))
                page.reload()
                page.locator(".message.in").last.locator(
                    "summary", has_text="Decision trace"
                ).click()
                page.locator(".message.out").last.locator("summary", has_text="History").click()
                page.screenshot(path=str(out_dir / "thread.png"), full_page=True)
                page.goto(f"{url}/dashboard/")
                page.screenshot(path=str(out_dir / "inbox.png"))
                if every_page:
                    page.goto(f"{url}/dashboard/rules")
                    page.screenshot(path=str(out_dir / "rules.png"), full_page=True)
                    page.goto(f"{url}/dashboard/simulator")
                    page.get_by_label("Their number").fill("+447443332219")
                    page.get_by_label("Message").fill("book")
                    page.get_by_role("button", name="Simulate").click()
                    page.screenshot(path=str(out_dir / "simulator.png"), full_page=True)
                    page.goto(f"{url}/dashboard/optouts")
                    page.screenshot(path=str(out_dir / "optouts.png"), full_page=True)
                browser.close()
        if services.sender is not None:
            services.sender.stop()
        services.engine.dispose()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--every-page"]
    main(Path(args[0]) if args else ROOT / "docs" / "img", every_page="--every-page" in sys.argv)
