"""Behind a proxy: X-Forwarded-For is believed from exactly RESPONDER_PROXY_HOPS proxies."""

from __future__ import annotations

import pytest
import requests

from responder import create_app
from responder.store.quarantine import list_quarantined
from tests.support import batch, serve, sms_callback

# The client wrote the first address itself; our proxies appended the others.
FORWARDED = "198.51.100.66, 203.0.113.7, 192.0.2.10"


@pytest.mark.parametrize(
    ("hops", "seen"),
    [
        pytest.param(0, "127.0.0.1", id="no-proxy-trusts-nothing"),
        pytest.param(1, "192.0.2.10", id="one-proxy"),
        pytest.param(2, "203.0.113.7", id="two-proxies"),
    ],
)
def test_remote_address_trusts_only_the_configured_hops(config, hops, seen):
    app = create_app(config.with_changes(proxy_hops=hops), start_sender=False)
    services = app.extensions["responder"]
    with serve(app) as url:
        answer = requests.post(
            f"{url}/voximplant/callback",
            data=batch(sms_callback(3, salt="forged")),
            headers={"X-Forwarded-For": FORWARDED, "X-Forwarded-Proto": "https"},
            timeout=10,
        )
    assert answer.status_code == 403
    kept = list_quarantined(services.engine)
    services.engine.dispose()
    assert [k.remote_addr for k in kept] == [seen]
    assert kept[0].headers["X-Forwarded-For"] == FORWARDED
