"""The Voximplant Management API client and provider against the fake API over real HTTP."""

from __future__ import annotations

import itertools
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import jwt
import pytest
import requests
from jwt.api_jws import PyJWS

from responder.config import VoximplantAccount, parse_credentials
from responder.errors import ErrorKind
from responder.providers.base import OutboundSms
from responder.providers.voximplant import VoximplantProvider
from responder.secret import Secret
from responder.voximplant.api import VoximplantClient
from responder.voximplant.errors import VoximplantApiError
from responder.voximplant.results import A2PFailure, PhoneNumber, SmsSent
from responder.voximplant.tokens import TokenSigner
from responder.voximplant.wire import encode_params
from tests.fakes.keys import (
    ACCOUNT_ID,
    KEY_ID,
    key_pair,
    make_account,
    other_key_pair,
    write_credentials,
)
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


def sign(claims: Mapping[str, object], kid: str = KEY_ID) -> str:
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
    form = {"source": OUR, "destination": THEIRS, "sms_body": "[True]", "store_body": "True"}
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


@pytest.mark.parametrize("code", [447, 454, 455, 456])
def test_token_error_within_the_same_second_retries_with_a_different_token(
    fake: FakeVoximplant, make_client: Callable[..., VoximplantClient], code: int
) -> None:
    fixed = time.time()  # the clock does not move between the refusal and the new token
    provider = VoximplantProvider(make_client(now=lambda: fixed))
    fake.error_next(code)

    result = provider.send(outbound())

    assert result.provider_message_id is not None
    first, second = fake.requests
    assert bearer(first.headers) != bearer(second.headers)
    assert len(fake.sent) == 1
    # Only the documented claims: the new one is issued a second earlier, expiring as before.
    assert set(second.claims) == {"iss", "iat", "exp"}
    refused = jwt.decode(bearer(first.headers), options={"verify_signature": False})
    assert second.claims["exp"] == refused["exp"]
    assert second.claims["iat"] == int(fixed) - 6


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
    # The client's tokens, signed alike: the first, and the one that replaces it when refused.
    signer = TokenSigner(account, now=lambda: fixed)
    token = signer.token()
    signer.invalidate()
    renewed = signer.token()
    client = make_client(account, timeout=0.3, now=lambda: fixed)
    # The worst case: an answer that quotes the token back.
    fake.error_next(456, f"token {token} expired")
    fake.error_next(456, f"token {renewed} expired")
    fake.error_next(101, f"bad request with {renewed}", status=400)
    fake.fail_next(status=502, body=f"<html>upstream said Bearer {renewed}</html>")
    fake.stall_next(5.0)
    fake.drop_next()

    errors = []
    for _ in range(5):
        with pytest.raises(VoximplantApiError) as caught:
            client.call("SendSmsMessage", {"source": OUR, "destination": THEIRS, "sms_body": "hi"})
        errors.append(caught.value)

    assert [e.code for e in errors] == [456, 101, None, None, None]
    secrets = [token, renewed, *key_pair().private_pem.splitlines()[1:-1]]
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


# -- typed Management API methods -------------------------------------------------------------


@pytest.mark.parametrize("wrapped", [False, True], ids=["flat", "under-result"])
def test_credentials_files_sign_requests_the_fake_accepts(
    fake: FakeVoximplant, tmp_path: Path, wrapped: bool
) -> None:
    path = write_credentials(tmp_path / "credentials.json", wrapped=wrapped)
    account = parse_credentials(str(path), base=tmp_path)

    with VoximplantClient(fake.url, account) as client:
        info = client.get_account_info()

    assert info.account_id == ACCOUNT_ID


def test_send_sms_message_can_keep_the_text(fake: FakeVoximplant, client: VoximplantClient) -> None:
    sent = client.send_sms_message("+" + OUR, THEIRS, "hello", store_body=True)

    assert sent == SmsSent(message_id=str(fake.history[0]["message_id"]), fragments_count=1)
    assert fake.sent[0].params["store_body"] == "true"
    assert fake.history[0]["text"] == "hello"


def test_a2p_send_reports_each_destination(fake: FakeVoximplant, client: VoximplantClient) -> None:
    fake.a2p_failing = {"447700900002"}

    result = client.a2p_send_sms("ACME", ["447700900001", "+447700900002", "447700900003"], "Hi")

    [request] = fake.requests
    assert request.params["dst_numbers"] == "447700900001;447700900002;447700900003"
    assert [s.destination_number for s in result.sent] == ["447700900001", "447700900003"]
    assert all(s.message_id for s in result.sent)
    assert result.failed == [A2PFailure("447700900002", 385, "Sending SMS error")]
    assert result.fragments_count == 1


def test_a2p_send_reads_older_transaction_ids(
    fake: FakeVoximplant, client: VoximplantClient
) -> None:
    fake.legacy_answers = True

    result = client.a2p_send_sms("ACME", ["447700900001"], "Hi")

    assert result.sent[0].message_id == str(fake.a2p_history[0]["message_id"])


def test_a2p_send_takes_at_most_100_destinations(
    fake: FakeVoximplant, client: VoximplantClient
) -> None:
    numbers = [f"4477009{i:05d}" for i in range(101)]

    with pytest.raises(ValueError, match="1 to 100"):
        client.a2p_send_sms("ACME", numbers, "Hi")
    assert fake.requests == []
    assert len(client.a2p_send_sms("ACME", numbers[:100], "Hi").sent) == 100


def test_control_sms_switches_sms_on_a_number(
    fake: FakeVoximplant, client: VoximplantClient
) -> None:
    number = fake.add_number(OUR, sms_enabled=False)
    with pytest.raises(VoximplantApiError) as caught:
        client.send_sms_message(OUR, THEIRS, "hi")
    assert (caught.value.code, caught.value.kind) == (386, ErrorKind.PERMANENT)

    client.control_sms(OUR, "enable")

    assert number["is_sms_enabled"] is True
    assert client.send_sms_message(OUR, THEIRS, "hi").message_id is not None
    client.control_sms(OUR, "disable")
    assert number["is_sms_enabled"] is False
    with pytest.raises(ValueError, match="enable"):
        client.control_sms(OUR, "on")  # type: ignore[arg-type]


def history_item(i: int, **fields: object) -> dict[str, object]:
    item: dict[str, object] = {
        "message_id": 900 + i,
        "source_number": THEIRS,
        "destination_number": OUR,
        "direction": "IN",
        "fragments": 1,
        "cost": 0.0,
        "status_id": 1,
        "error_message": None,
        "processed_date": f"2024-05-{i + 1:02d} 10:00:00",
        "transaction_id": 5000 + i,
        "text": f"message {i}",
    }
    item.update(fields)
    return item


def test_sms_history_pages_and_coerces_fields(
    fake: FakeVoximplant, client: VoximplantClient
) -> None:
    fake.history = [history_item(i) for i in range(5)]
    fake.history.append(
        history_item(5, source_number=int(OUR), destination_number=int(THEIRS), direction="OUT",
                     processed_date="2024-05-06", cost="0.0525")
    )  # fmt: skip

    first = client.get_sms_history(count=4)
    second = client.get_sms_history(count=4, offset=4)

    assert first.total_count == second.total_count == 6
    assert [i.message_id for i in first.items + second.items] == [str(900 + i) for i in range(6)]
    last = second.items[-1]
    assert (last.source_number, last.destination_number, last.direction) == (OUR, THEIRS, "out")
    assert last.processed_at == datetime(2024, 5, 6, tzinfo=UTC)
    assert last.cost == Decimal("0.0525")
    assert first.items[0].processed_at == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert first.items[0].transaction_id == "5000"
    assert [r.params["count"] for r in fake.requests] == ["4", "4"]


def test_sms_history_filters_reach_the_api(fake: FakeVoximplant, client: VoximplantClient) -> None:
    fake.history = [history_item(i) for i in range(5)]
    fake.history.append(history_item(5, direction="OUT", source_number=OUR))

    outgoing = client.get_sms_history(direction="out")
    window = client.get_sms_history(
        from_date=datetime(2024, 5, 2, 12, tzinfo=timezone(timedelta(hours=2))),
        to_date=datetime(2024, 5, 4, 10, tzinfo=UTC),
    )
    chosen = client.get_sms_history(message_id=[901, "903"], source_number="+" + THEIRS)

    assert [i.message_id for i in outgoing.items] == ["905"]
    assert fake.requests[0].params["direction"] == "OUT"
    assert fake.requests[1].params["from_date"] == "2024-05-02 10:00:00"
    assert [i.message_id for i in window.items] == ["901", "902", "903"]
    assert [i.message_id for i in chosen.items] == ["901", "903"]
    assert fake.requests[2].params["message_id"] == "901;903"


def test_sms_history_refuses_bad_arguments_before_sending(
    fake: FakeVoximplant, client: VoximplantClient
) -> None:
    with pytest.raises(ValueError, match="1 to 1000"):
        client.get_sms_history(count=1001)
    with pytest.raises(ValueError, match="direction"):
        client.get_sms_history(direction="sideways")
    with pytest.raises(ValueError, match="offset"):
        client.get_sms_history(offset=-1)
    assert fake.requests == []


def test_sent_messages_show_up_in_history(
    fake: FakeVoximplant, provider: VoximplantProvider, client: VoximplantClient
) -> None:
    result = provider.send(outbound())

    [item] = client.iter_sms_history(destination_number=THEIRS)

    assert item.message_id == result.provider_message_id
    assert (item.direction, item.status_id, item.fragments) == ("out", 1, 1)


def test_iter_sms_history_walks_every_page(fake: FakeVoximplant, client: VoximplantClient) -> None:
    fake.history = [history_item(i) for i in range(7)]

    items = list(client.iter_sms_history(page_size=3))

    assert [i.message_id for i in items] == [str(900 + i) for i in range(7)]
    assert [r.params["offset"] for r in fake.requests] == ["0", "3", "6"]


def test_history_skips_items_that_are_not_objects(
    fake: FakeVoximplant, client: VoximplantClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.respond_next({"result": [history_item(0), "junk"], "total_count": 2})

    page = client.get_sms_history()

    assert [i.message_id for i in page.items] == ["900"]
    assert "not an object" in caplog.text


def test_a2p_history_reads_delivery_status_and_both_date_forms(
    fake: FakeVoximplant, client: VoximplantClient
) -> None:
    fake.a2p_history = [
        {"message_id": 1, "source_number": "ACME", "destination_number": 447700900001,
         "fragments": 1, "cost": 0.04, "status_id": 1, "processing_date": "2024-05-01 08:00:00",
         "transaction_id": 11, "delivery_status": "DELIVERED", "text": None},
        {"message_id": 2, "source_number": "ACME", "destination_number": "447700900002",
         "fragments": 2, "cost": 0.08, "status_id": 2, "processing_date": "2024-05-02",
         "transaction_id": 12, "delivery_status": "FAILED", "error_message": "No route"},
    ]  # fmt: skip

    everything = client.a2p_get_sms_history()
    failed = client.a2p_get_sms_history(delivery_status=6)

    first, second = everything.items
    assert first.destination_number == "447700900001"
    assert first.processed_at == datetime(2024, 5, 1, 8, tzinfo=UTC)
    assert second.processed_at == datetime(2024, 5, 2, tzinfo=UTC)
    assert [(i.message_id, i.delivery_status, i.error_message) for i in failed.items] == [
        ("2", "FAILED", "No route")
    ]
    assert failed.total_count == 1


def test_phone_numbers_are_paged(fake: FakeVoximplant, client: VoximplantClient) -> None:
    for i in range(5):
        fake.add_number(f"44744333221{i}", sms_supported=i != 3)

    page = client.get_phone_numbers(count=2, offset=2)
    walked = list(client.iter_phone_numbers(page_size=2))
    sms_capable = list(client.iter_phone_numbers(sms_supported=True))

    assert page.total_count == 5
    assert [n.phone_number for n in page.items] == ["447443332212", "447443332213"]
    assert [n.phone_number for n in walked] == [f"44744333221{i}" for i in range(5)]
    assert [r.params.get("offset") for r in fake.requests[1:4]] == ["0", "2", "4"]
    assert len(sms_capable) == 4
    assert fake.requests[-1].params["sms_supported"] == "true"


def test_phone_number_fields_are_typed(fake: FakeVoximplant, client: VoximplantClient) -> None:
    added = fake.add_number(OUR, incoming_sms_callback_url="https://example.com/sms")
    fake.add_number(THEIRS)

    [number] = client.get_phone_numbers(phone_number="+" + OUR).items

    assert number == PhoneNumber(
        phone_id=added["phone_id"],
        phone_number=OUR,
        is_sms_supported=True,
        is_sms_enabled=True,
        incoming_sms_callback_url="https://example.com/sms",
        country_code="GB",
        category_name="MOBILE",
        deactivated=False,
        canceled=False,
        purchased_at=datetime(2024, 1, 15, 9, 30, tzinfo=UTC),
        next_renewal=date(2026, 1, 15),
    )
    assert client.get_phone_numbers(phone_id=added["phone_id"]).items == [number]


def test_account_info_keeps_the_salt_wrapped(
    fake: FakeVoximplant, client: VoximplantClient
) -> None:
    fake.account.update(callback_url="https://example.com/callbacks", callback_salt="pepper-123")

    info = client.get_account_info()

    assert info.account_id == ACCOUNT_ID
    assert info.callback_url == "https://example.com/callbacks"
    assert info.callback_salt is not None
    assert info.callback_salt.reveal() == "pepper-123"
    assert "pepper-123" not in repr(info)
    assert info.api_key is None
    assert info.balance == Decimal("42.17")
    assert info.a2p_sms_enabled is True


def test_set_account_info_changes_the_callback(
    fake: FakeVoximplant, client: VoximplantClient
) -> None:
    client.set_account_info(
        callback_url="https://example.com/callbacks",
        callback_salt="pepper-123",
        store_inbound_sms=True,
    )

    assert fake.requests[0].params == {
        "callback_url": "https://example.com/callbacks",
        "callback_salt": "pepper-123",
        "store_inbound_sms": "true",
    }
    info = client.get_account_info()
    assert info.callback_url == "https://example.com/callbacks"
    assert info.store_inbound_sms is True
    with pytest.raises(ValueError, match="at least one"):
        client.set_account_info()


def test_a_refused_salt_is_not_quoted_in_the_error(
    fake: FakeVoximplant, client: VoximplantClient
) -> None:
    salt = "s" * 45
    fake.error_next(399, f"callback_salt {salt} is too long")

    with pytest.raises(VoximplantApiError) as caught:
        client.set_account_info(callback_salt=salt)

    assert (caught.value.code, caught.value.kind) == (399, ErrorKind.PERMANENT)
    assert salt not in str(caught.value)


def test_set_phone_number_info_sets_the_inbound_url(
    fake: FakeVoximplant, client: VoximplantClient
) -> None:
    ours = fake.add_number(OUR)
    other = fake.add_number(THEIRS)

    client.set_phone_number_info(
        phone_number="+" + OUR, incoming_sms_callback_url="https://example.com/a"
    )
    assert (ours["incoming_sms_callback_url"], other["incoming_sms_callback_url"]) == (
        "https://example.com/a",
        None,
    )

    client.set_phone_number_info(
        phone_id=[ours["phone_id"], other["phone_id"]], incoming_sms_callback_url="https://b.test/"
    )
    client.set_phone_number_info(phone_id="all", auto_charge=False)

    assert fake.requests[1].params["phone_id"] == f"{ours['phone_id']};{other['phone_id']}"
    assert (
        ours["incoming_sms_callback_url"] == other["incoming_sms_callback_url"] == "https://b.test/"
    )
    assert ours["auto_charge"] is other["auto_charge"] is False
    with pytest.raises(ValueError, match="exactly one"):
        client.set_phone_number_info(incoming_sms_callback_url="https://c.test/")


def test_unknown_number_is_refused_by_the_fake(
    fake: FakeVoximplant, client: VoximplantClient
) -> None:
    with pytest.raises(VoximplantApiError) as caught:
        client.set_phone_number_info(phone_number=OUR, incoming_sms_callback_url="https://a.test/")

    assert (caught.value.code, caught.value.kind) == (121, ErrorKind.PERMANENT)


def test_duplicate_guard_refuses_a_quick_resend(
    fake: FakeVoximplant, client: VoximplantClient
) -> None:
    fake.duplicate_window_s = 60
    client.send_sms_message(OUR, THEIRS, "hi")

    with pytest.raises(VoximplantApiError) as caught:
        client.send_sms_message(OUR, THEIRS, "hi")

    assert (caught.value.code, caught.value.kind) == (484, ErrorKind.TRANSIENT)
    assert caught.value.retry_after == 60.0
    assert len(fake.sent) == 1


def test_answer_lost_after_sending_then_resend_is_caught_by_the_guard(
    fake: FakeVoximplant, provider: VoximplantProvider
) -> None:
    fake.duplicate_window_s = 60
    fake.drop_next(processed=True)

    with pytest.raises(VoximplantApiError) as first:
        provider.send(outbound())
    with pytest.raises(VoximplantApiError) as second:
        provider.send(outbound())

    assert (first.value.kind, second.value.code) == (ErrorKind.TRANSIENT, 484)
    assert len(fake.sent) == 1
