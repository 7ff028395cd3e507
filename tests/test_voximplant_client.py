"""The Voximplant Management API client and provider against the fake API over real HTTP."""

from __future__ import annotations

import itertools
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import jwt
import pytest
import requests
from jwt.api_jws import PyJWS

from responder.config import VoximplantAccount
from responder.errors import ErrorKind
from responder.providers.base import OutboundSms
from responder.providers.voximplant import VoximplantProvider
from responder.secret import Secret
from responder.voximplant.api import VoximplantClient
from responder.voximplant.errors import VoximplantApiError
from responder.voximplant.tokens import TokenSigner
from responder.voximplant.wire import encode_params
from tests.fakes.keys import ACCOUNT_ID, KEY_ID, key_pair, make_account, other_key_pair
from tests.fakes.voximplant_api import FakeVoximplant

OUR = "447443332211"
THEIRS = "447443332212"


@pytest.fixture
def fake() -> Iterator[FakeVoximplant]:
    """The fake API with the session key pair; its problems fail the test at teardown."""
    with FakeVoximplant(key_pair().public_pem, ACCOUNT_ID, KEY_ID) as server:
        yield server


@pytest.fixture
def make_client(fake: FakeVoximplant) -> Iterator[Callable[..., VoximplantClient]]:
    """Build clients pointed at the fake; all are closed at teardown."""
    clients: list[VoximplantClient] = []

    def build(
        account: VoximplantAccount | None = None,
        *,
        timeout: float = 5.0,
        now: Callable[[], float] = time.time,
    ) -> VoximplantClient:
        client = VoximplantClient(fake.url, account or make_account(), timeout=timeout, now=now)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., VoximplantClient]) -> VoximplantClient:
    return make_client()


@pytest.fixture
def provider(client: VoximplantClient) -> VoximplantProvider:
    return VoximplantProvider(client)


def outbound(text: str = "We are open 9:00-17:00.") -> OutboundSms:
    return OutboundSms(outbox_id=1, our_number=OUR, their_number=THEIRS, text=text)


def bearer(recorded_headers: dict[str, str]) -> str:
    return recorded_headers["Authorization"].removeprefix("Bearer ")


def ticking_clock(start: float | None = None) -> Callable[[], float]:
    """A clock one second later at every reading, so every new token differs from the last."""
    ticks = itertools.count()
    base = time.time() if start is None else start
    return lambda: base + next(ticks)


# -- signing and sending ----------------------------------------------------------------------


def test_signed_send_is_accepted(fake: FakeVoximplant, provider: VoximplantProvider) -> None:
    result = provider.send(outbound())

    assert result.provider_message_id is not None
    assert result.fragments == 1
    [request] = fake.sent
    assert request.params == {
        "source": OUR,
        "destination": THEIRS,
        "sms_body": "We are open 9:00-17:00.",
    }
    assert request.style == "path"
    assert request.content_type.startswith("application/x-www-form-urlencoded")
    assert request.claims is not None
    assert request.claims["iss"] == ACCOUNT_ID
    assert 0 < request.claims["exp"] - request.claims["iat"] <= 3600
    header = jwt.get_unverified_header(bearer(request.headers))
    assert header == {"alg": "RS256", "kid": KEY_ID, "typ": "JWT"}
    assert fake.auth_failures == []


def test_message_ids_and_fragments_come_from_the_answer(
    fake: FakeVoximplant, provider: VoximplantProvider
) -> None:
    first = provider.send(outbound())
    second = provider.send(outbound("x" * 161))
    unicode = provider.send(outbound("Привет! " * 10))

    assert first.provider_message_id != second.provider_message_id
    assert (second.fragments, unicode.fragments) == (2, 2)
    assert [h["message_id"] for h in fake.history] == [
        int(r.provider_message_id or 0) for r in (first, second, unicode)
    ]


def test_plus_signs_are_stripped_from_numbers(
    fake: FakeVoximplant, provider: VoximplantProvider
) -> None:
    provider.send(
        OutboundSms(outbox_id=7, our_number="+" + OUR, their_number="+" + THEIRS, text="hi")
    )

    assert (fake.sent[0].params["source"], fake.sent[0].params["destination"]) == (OUR, THEIRS)


def test_older_answer_without_message_id_is_still_a_success(
    fake: FakeVoximplant, provider: VoximplantProvider
) -> None:
    fake.legacy_answers = True

    result = provider.send(outbound())

    assert result.provider_message_id is None
    assert result.fragments == 1


def test_answer_without_result_one_is_unknown(
    fake: FakeVoximplant, provider: VoximplantProvider
) -> None:
    fake.respond_next({"result": 0})

    with pytest.raises(VoximplantApiError) as caught:
        provider.send(outbound())

    assert caught.value.kind is ErrorKind.UNKNOWN
    assert not caught.value.retryable


def test_token_is_reused_until_close_to_expiry(
    fake: FakeVoximplant, make_client: Callable[..., VoximplantClient]
) -> None:
    # Starts 45 s in the past so that every token stays acceptable to the fake's real clock.
    now = [time.time() - 45]
    client = make_client(now=lambda: now[0])

    client.call("GetAccountInfo", {})
    now[0] += 49
    client.call("GetAccountInfo", {})
    now[0] += 2
    client.call("GetAccountInfo", {})

    first, second, third = (bearer(r.headers) for r in fake.requests)
    assert first == second
    assert third != first


# -- what the fake refuses ----------------------------------------------------------------------


def test_wrong_key_is_rejected(
    fake: FakeVoximplant, make_client: Callable[..., VoximplantClient]
) -> None:
    client = make_client(make_account(other_key_pair()))

    with pytest.raises(VoximplantApiError) as caught:
        VoximplantProvider(client).send(outbound())

    assert caught.value.code == 100
    assert caught.value.kind is ErrorKind.PERMANENT
    assert len(fake.auth_failures) == 1
    assert fake.sent == []


def test_unknown_key_id_is_rejected(
    fake: FakeVoximplant, make_client: Callable[..., VoximplantClient]
) -> None:
    client = make_client(make_account(key_id="not-our-key"))

    with pytest.raises(VoximplantApiError) as caught:
        client.call("GetAccountInfo", {})

    assert (caught.value.code, caught.value.kind) == (433, ErrorKind.PERMANENT)


def sign(claims: dict[str, object], kid: str = KEY_ID) -> str:
    """A token with any claims (jwt.encode would refuse a numeric iss)."""
    payload = json.dumps(claims).encode()
    return PyJWS().encode(payload, key_pair().private_pem, algorithm="RS256", headers={"kid": kid})


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        pytest.param({"iss": ACCOUNT_ID, "iat": -5, "exp": 60}, None, id="valid"),
        pytest.param({"iss": str(ACCOUNT_ID), "iat": -5, "exp": 60}, None, id="iss-as-string"),
        pytest.param({"iss": ACCOUNT_ID, "iat": -120, "exp": -60}, 456, id="expired"),
        pytest.param({"iss": ACCOUNT_ID, "iat": 0, "exp": 3601}, 454, id="lifetime-too-long"),
        pytest.param({"iss": ACCOUNT_ID, "iat": 600, "exp": 660}, 455, id="issued-in-future"),
        pytest.param({"iss": 99, "iat": -5, "exp": 60}, 100, id="other-account"),
        pytest.param({"iss": ACCOUNT_ID, "exp": 60}, 447, id="no-iat"),
    ],
)
def test_fake_checks_token_claims(
    fake: FakeVoximplant, claims: dict[str, int], code: int | None
) -> None:
    now = int(time.time())
    timed = {k: (v + now if k in ("iat", "exp") else v) for k, v in claims.items()}

    answer = requests.post(
        fake.url + "/GetAccountInfo",
        headers={"Authorization": f"Bearer {sign(timed)}"},
        timeout=5,
    ).json()

    if code is None:
        assert answer["result"]["account_id"] == ACCOUNT_ID
    else:
        assert answer["error"]["code"] == code
        assert answer["errors"] == [answer["error"]]
        assert fake.auth_failures[0].auth_error == code


def test_fake_refuses_a_request_without_token(fake: FakeVoximplant) -> None:
    answer = requests.post(fake.url + "/GetAccountInfo", timeout=5).json()

    assert answer["error"]["code"] == 100


def valid_token() -> str:
    now = int(time.time())
    return sign({"iss": ACCOUNT_ID, "iat": now - 5, "exp": now + 60})


@pytest.mark.parametrize(
    "style",
    ["path-form", "path-multipart", "path-query", "cmd-form", "cmd-multipart", "legacy-get"],
)
def test_fake_accepts_every_request_style(fake: FakeVoximplant, style: str) -> None:
    fields = {"source": OUR, "destination": THEIRS, "sms_body": "hi"}
    headers = {"Authorization": f"Bearer {valid_token()}"}
    path_url = fake.url + "/SendSmsMessage"
    if style == "path-form":
        response = requests.post(path_url, data=fields, headers=headers, timeout=5)
    elif style == "path-multipart":
        multipart = {k: (None, v) for k, v in fields.items()}
        response = requests.post(path_url, files=multipart, headers=headers, timeout=5)
    elif style == "path-query":
        response = requests.post(path_url, params=fields, headers=headers, timeout=5)
    elif style == "cmd-form":
        form = {"cmd": "SendSmsMessage", **fields}
        response = requests.post(fake.url, data=form, headers=headers, timeout=5)
    elif style == "cmd-multipart":
        multipart = {k: (None, v) for k, v in {"cmd": "SendSmsMessage", **fields}.items()}
        response = requests.post(fake.url, files=multipart, headers=headers, timeout=5)
    else:
        response = requests.get(path_url + "/", params=fields, headers=headers, timeout=5)

    assert response.json()["result"] == 1
    [sent] = fake.sent
    assert sent.params == fields
    assert sent.style == ("cmd" if style.startswith("cmd") else "path")


def test_fake_notes_python_reprs_as_problems(fake: FakeVoximplant) -> None:
    headers = {"Authorization": f"Bearer {valid_token()}"}
    form = {"source": OUR, "destination": THEIRS, "sms_body": "hi", "store_body": "True"}
    requests.post(fake.url + "/SendSmsMessage", data=form, headers=headers, timeout=5)

    assert fake.errors == ["SendSmsMessage: store_body='True' looks like a Python repr"]
    with pytest.raises(AssertionError, match="Python repr"):
        fake.check()
    fake.errors.clear()


# -- failures and how they are classified ---------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        pytest.param(1, 200, ErrorKind.TRANSIENT, id="1-fatal"),
        pytest.param(2, 200, ErrorKind.TRANSIENT, id="2-internal"),
        pytest.param(4, 200, ErrorKind.TRANSIENT, id="4-database"),
        pytest.param(14, 200, ErrorKind.TRANSIENT, id="14-gateway"),
        pytest.param(162, 200, ErrorKind.TRANSIENT, id="162-try-later"),
        pytest.param(385, 200, ErrorKind.TRANSIENT, id="385-sending-error"),
        pytest.param(416, 200, ErrorKind.TRANSIENT, id="416-repeat-after"),
        pytest.param(484, 200, ErrorKind.TRANSIENT, id="484-resend-guard"),
        pytest.param(340, 200, ErrorKind.RATE_LIMITED, id="340-rate-limit"),
        pytest.param(127, 200, ErrorKind.FUNDS, id="127-no-money"),
        pytest.param(100, 200, ErrorKind.PERMANENT, id="100-auth"),
        pytest.param(101, 200, ErrorKind.PERMANENT, id="101-arguments"),
        pytest.param(104, 200, ErrorKind.PERMANENT, id="104-forbidden"),
        pytest.param(121, 200, ErrorKind.PERMANENT, id="121-bad-number"),
        pytest.param(134, 200, ErrorKind.PERMANENT, id="134-empty-param"),
        pytest.param(386, 200, ErrorKind.PERMANENT, id="386-sms-disabled"),
        pytest.param(422, 200, ErrorKind.PERMANENT, id="422-bad-source"),
        pytest.param(423, 200, ErrorKind.PERMANENT, id="423-bad-destination"),
        pytest.param(433, 200, ErrorKind.PERMANENT, id="433-key-id"),
        pytest.param(509, 200, ErrorKind.PERMANENT, id="509-a2p-disabled"),
        pytest.param(528, 200, ErrorKind.PERMANENT, id="528-not-supported"),
        pytest.param(999, 200, ErrorKind.PERMANENT, id="unknown-code"),
        pytest.param(386, 400, ErrorKind.PERMANENT, id="386-with-400"),
        pytest.param(2, 500, ErrorKind.TRANSIENT, id="2-with-500"),
        pytest.param(101, 502, ErrorKind.PERMANENT, id="101-with-502"),
        pytest.param(999, 503, ErrorKind.TRANSIENT, id="unknown-code-with-503"),
        pytest.param(999, 429, ErrorKind.RATE_LIMITED, id="unknown-code-with-429"),
    ],
)
def test_error_answers_are_classified(
    fake: FakeVoximplant, provider: VoximplantProvider, code: int, status: int, kind: ErrorKind
) -> None:
    fake.error_next(code, "what Voximplant said", status=status)

    with pytest.raises(VoximplantApiError) as caught:
        provider.send(outbound())

    error = caught.value
    assert (error.code, error.status, error.kind) == (code, status, kind)
    assert error.msg == "what Voximplant said"
    assert "SendSmsMessage" in str(error)
    assert fake.sent == []


def test_errors_list_alone_is_an_error(fake: FakeVoximplant, client: VoximplantClient) -> None:
    fake.respond_next({"errors": [{"code": "386", "msg": "SMS disabled"}]})

    with pytest.raises(VoximplantApiError) as caught:
        client.call("SendSmsMessage", {"source": OUR, "destination": THEIRS, "sms_body": "hi"})

    assert (caught.value.code, caught.value.kind) == (386, ErrorKind.PERMANENT)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        pytest.param(503, "<html>Service Unavailable</html>", ErrorKind.TRANSIENT, id="503-html"),
        pytest.param(502, "", ErrorKind.TRANSIENT, id="502-empty"),
        pytest.param(429, "slow down", ErrorKind.RATE_LIMITED, id="429-text"),
        pytest.param(404, "<html>Not Found</html>", ErrorKind.PERMANENT, id="404-html"),
        pytest.param(200, "<html>maintenance</html>", ErrorKind.TRANSIENT, id="200-html"),
        pytest.param(200, "[1, 2]", ErrorKind.TRANSIENT, id="200-json-list"),
    ],
)
def test_answers_without_a_json_object_are_classified(
    fake: FakeVoximplant, provider: VoximplantProvider, status: int, body: str, kind: ErrorKind
) -> None:
    fake.fail_next(status=status, body=body)

    with pytest.raises(VoximplantApiError) as caught:
        provider.send(outbound())

    assert (caught.value.code, caught.value.status, caught.value.kind) == (None, status, kind)


@pytest.mark.parametrize(
    ("code", "msg", "headers", "retry_after"),
    [
        pytest.param(416, "Repeat after 30 seconds", {}, 30.0, id="416-text"),
        pytest.param(484, None, {}, 60.0, id="484-default"),
        pytest.param(162, None, {"Retry-After": "7"}, 7.0, id="162-header"),
        pytest.param(340, None, {"Retry-After": "3"}, 3.0, id="340-header"),
        pytest.param(14, None, {}, None, id="14-none"),
    ],
)
def test_retry_after_hints(
    fake: FakeVoximplant,
    client: VoximplantClient,
    code: int,
    msg: str | None,
    headers: dict[str, str],
    retry_after: float | None,
) -> None:
    fake.respond_next({"error": {"code": code, "msg": msg or "try later"}}, headers=headers)

    with pytest.raises(VoximplantApiError) as caught:
        client.call("SendSmsMessage", {"source": OUR, "destination": THEIRS, "sms_body": "hi"})

    assert caught.value.retry_after == retry_after
    assert caught.value.retryable


def test_timeout_waiting_for_the_answer_is_transient(
    fake: FakeVoximplant, make_client: Callable[..., VoximplantClient]
) -> None:
    fake.stall_next(5.0)
    provider = VoximplantProvider(make_client(timeout=0.3))

    with pytest.raises(VoximplantApiError) as caught:
        provider.send(outbound())

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "no answer within 0.3 s" in str(caught.value)


def test_dropped_connection_is_transient(
    fake: FakeVoximplant, provider: VoximplantProvider
) -> None:
    fake.drop_next()

    with pytest.raises(VoximplantApiError) as caught:
        provider.send(outbound())

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.status is None
    assert len(fake.requests) == 1


def test_connection_refused_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = VoximplantClient(f"http://127.0.0.1:{port}/platform_api", make_account(), timeout=2)

    with client, pytest.raises(VoximplantApiError) as caught:
        client.call("GetAccountInfo", {})

    assert caught.value.kind is ErrorKind.TRANSIENT


def test_scripts_can_target_one_method(fake: FakeVoximplant, client: VoximplantClient) -> None:
    fake.error_next(2, method="SendSmsMessage")

    client.call("GetAccountInfo", {})
    with pytest.raises(VoximplantApiError):
        client.call("SendSmsMessage", {"source": OUR, "destination": THEIRS, "sms_body": "hi"})


def test_error_always_lasts_until_reset(fake: FakeVoximplant, client: VoximplantClient) -> None:
    fake.error_always(127)
    for _ in range(3):
        with pytest.raises(VoximplantApiError, match="127"):
            client.call("GetAccountInfo", {})

    fake.reset()

    assert client.call("GetAccountInfo", {})["result"]["account_id"] == ACCOUNT_ID
    assert len(fake.requests) == 1


# -- token errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [447, 454, 455, 456])
def test_token_error_signs_a_new_token_and_retries_once(
    fake: FakeVoximplant, make_client: Callable[..., VoximplantClient], code: int
) -> None:
    provider = VoximplantProvider(make_client(now=ticking_clock()))
    fake.error_next(code)

    result = provider.send(outbound())

    assert result.provider_message_id is not None
    first, second = fake.requests
    assert bearer(first.headers) != bearer(second.headers)
    assert len(fake.sent) == 1


def test_token_error_twice_is_raised(
    fake: FakeVoximplant, make_client: Callable[..., VoximplantClient]
) -> None:
    provider = VoximplantProvider(make_client(now=ticking_clock()))
    fake.error_next(456, n=2)

    with pytest.raises(VoximplantApiError) as caught:
        provider.send(outbound())

    assert (caught.value.code, caught.value.kind) == (456, ErrorKind.TOKEN)
    assert len(fake.requests) == 2


def test_slow_clock_gives_expired_tokens(
    fake: FakeVoximplant, make_client: Callable[..., VoximplantClient]
) -> None:
    client = make_client(now=lambda: time.time() - 3600)

    with pytest.raises(VoximplantApiError) as caught:
        client.call("GetAccountInfo", {})

    assert (caught.value.code, caught.value.kind) == (456, ErrorKind.TOKEN)
    assert [r.auth_error for r in fake.auth_failures] == [456, 456]


# -- secrets ----------------------------------------------------------------------------------


def test_secrets_stay_out_of_errors_and_logs(
    fake: FakeVoximplant,
    make_client: Callable[..., VoximplantClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fixed = time.time()
    account = make_account()
    token = TokenSigner(account, now=lambda: fixed).token()
    client = make_client(account, timeout=0.3, now=lambda: fixed)
    # The worst case: an answer that quotes the token back.
    fake.error_next(456, f"token {token} expired", n=2)
    fake.error_next(101, f"bad request with {token}", status=400)
    fake.fail_next(status=502, body=f"<html>upstream said Bearer {token}</html>")
    fake.stall_next(5.0)
    fake.drop_next()

    errors = []
    for _ in range(5):
        with pytest.raises(VoximplantApiError) as caught:
            client.call("SendSmsMessage", {"source": OUR, "destination": THEIRS, "sms_body": "hi"})
        errors.append(caught.value)

    assert [e.code for e in errors] == [456, 101, None, None, None]
    secrets = [token, *key_pair().private_pem.splitlines()[1:-1]]
    texts = [str(e) for e in errors] + [repr(e.args) for e in errors]
    texts += [r.getMessage() for r in caplog.records] + [r.exc_text or "" for r in caplog.records]
    for text in texts:
        for secret in secrets:
            assert secret not in text
    assert all(e.__cause__ is None and e.__suppress_context__ for e in errors[3:])


def test_invalid_private_key_fails_without_quoting_it(
    fake: FakeVoximplant, make_client: Callable[..., VoximplantClient]
) -> None:
    broken = "-----BEGIN PRIVATE KEY-----\nTk9UQUtFWQ==\n-----END PRIVATE KEY-----\n"
    client = make_client(VoximplantAccount(ACCOUNT_ID, KEY_ID, Secret(broken)))

    with pytest.raises(VoximplantApiError) as caught:
        client.call("GetAccountInfo", {})

    assert caught.value.kind is ErrorKind.PERMANENT
    assert "Tk9UQUtFWQ" not in str(caught.value)
    assert fake.requests == []


# -- parameter encoding -----------------------------------------------------------------------


def test_parameters_are_encoded_as_the_api_expects() -> None:
    plus_three = timezone(timedelta(hours=3))

    form = encode_params(
        {
            "dst_numbers": [OUR, THEIRS],
            "ids": (1, 2, 3),
            "store_body": True,
            "sms_supported": False,
            "from_date": datetime(2024, 5, 1, 12, 0, 0, tzinfo=plus_three),
            "to_date": datetime(2024, 5, 2, 8, 30, 5, tzinfo=UTC),
            "naive": datetime(2024, 5, 3, 1, 2, 3),
            "day": date(2024, 5, 4),
            "count": 1000,
            "callback_salt": Secret("salty"),
            "offset": None,
        }
    )

    assert form == {
        "dst_numbers": f"{OUR};{THEIRS}",
        "ids": "1;2;3",
        "store_body": "true",
        "sms_supported": "false",
        "from_date": "2024-05-01 09:00:00",
        "to_date": "2024-05-02 08:30:05",
        "naive": "2024-05-03 01:02:03",
        "day": "2024-05-04",
        "count": "1000",
        "callback_salt": "salty",
    }


def test_unsupported_parameter_types_are_refused() -> None:
    with pytest.raises(TypeError, match="dict"):
        encode_params({"nested": {"a": 1}})
