"""/healthz says the process answers; /readyz names each check and fails with a reason."""

from __future__ import annotations

import requests
from sqlalchemy import text

from responder import create_app
from tests.support import serve


def test_healthz_and_readyz_when_all_is_well(live):
    url, _services = live
    alive = requests.get(f"{url}/healthz", timeout=10)
    assert alive.status_code == 200
    assert alive.json() == {"status": "ok"}
    assert alive.headers["Cache-Control"] == "no-store"
    ready = requests.get(f"{url}/readyz", timeout=10)
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "rules", "provider"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["rules"]["detail"].endswith(", 2 rule(s)")
    assert body["checks"]["provider"]["detail"] == "log: replies are written to the log, not sent"


def test_readyz_names_a_database_without_the_schema(live):
    url, services = live
    services.sender.stop()
    with services.engine.begin() as conn:
        conn.execute(text("DROP TABLE outbox"))
    answer = requests.get(f"{url}/readyz", timeout=10)
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"]["ok"] is False
    assert "run 'responder db upgrade'" in body["checks"]["database"]["detail"]
    assert body["checks"]["rules"]["ok"] is True
    assert requests.get(f"{url}/healthz", timeout=10).status_code == 200


def test_readyz_fails_while_no_rules_are_live(config):
    (config.rules_dir / "main.yaml").write_text("rules: [\n", encoding="utf-8")
    app = create_app(config, start_sender=False)
    try:
        with serve(app) as url:
            answer = requests.get(f"{url}/readyz", timeout=10)
    finally:
        app.extensions["responder"].engine.dispose()
    assert answer.status_code == 503
    rules = answer.json()["checks"]["rules"]
    assert rules["ok"] is False
    assert rules["detail"].startswith("no rules are live: ")
    assert rules["detail"].endswith("run 'responder rules check'")
    assert answer.json()["checks"]["database"]["ok"] is True
