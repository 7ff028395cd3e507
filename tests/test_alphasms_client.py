"""The AlphaSMS client and provider over real HTTP against the fake gateway."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from responder.alphasms import AlphaSmsClient, AlphaSmsError, DeliveryState
from responder.errors import ErrorKind
from responder.providers.alphasms import AlphaSmsProvider
from responder.providers.base import OutboundSms
from responder.secret import Secret
from tests.fakes.alphasms import FIRST_ID, FakeAlphaSms

TO = "380501234567"


@pytest.fixture(params=["lines", "one_line"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeAlphaSms]:
    with FakeAlphaSms(layout=request.param) as server:
        yield server


@pytest.fixture
def client(fake: FakeAlphaSms) -> Iterator[AlphaSmsClient]:
    client = AlphaSmsClient(fake.url, Secret(fake.key), timeout=5.0)
    yield client
    client.close()


def short_timeout_client(fake: FakeAlphaSms) -> AlphaSmsClient:
    return AlphaSmsClient(fake.endpoint, Secret(fake.key), timeout=0.3)


def test_send_returns_gateway_id_and_parts(client: AlphaSmsClient, fake: FakeAlphaSms) -> None:
    result = client.send("Shop", "+380 50 123 45 67", "Привіт! " * 10, our_id="17")

    assert result.message_id == str(FIRST_ID)
    assert result.sms_count == 2
    assert [(m.sender, m.to) for m in fake.sent] == [("Shop", TO)]
    (request,) = fake.requests
    assert request.method == "POST"
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.params["version"] == "http"
    assert request.params["command"] == "send"
    assert request.params["message"] == "Привіт! " * 10


def test_client_accepts_host_or_full_endpoint(fake: FakeAlphaSms) -> None:
    for base in (fake.url, fake.url + "/", fake.endpoint):
        client = AlphaSmsClient(base, Secret(fake.key))
        assert client.balance() == Decimal("31.168300000000002")
        client.close()
    assert {r.path for r in fake.requests} == {"/api/http.php"}


def test_provider_sends_under_its_sender_name(client: AlphaSmsClient, fake: FakeAlphaSms) -> None:
    provider = AlphaSmsProvider(client, "Shop.ua")
    sms = OutboundSms(outbox_id=5, our_number="447443332211", their_number=TO, text="Hello")

    result = provider.send(sms)

    assert provider.name == "alphasms"
    assert result.provider_message_id == fake.sent[0].id
    assert result.fragments == 1
    assert fake.sent[0].sender == "Shop.ua"


def test_provider_rejects_a_bad_sender_name(client: AlphaSmsClient) -> None:
    with pytest.raises(ValueError, match="at most 11 characters"):
        AlphaSmsProvider(client, "TwelveLetter")


def test_errors_line_is_a_permanent_failure_with_its_text(
    client: AlphaSmsClient, fake: FakeAlphaSms
) -> None:
    fake.error_next("Alpha-name is not registered")

    with pytest.raises(AlphaSmsError) as caught:
        client.send("Shop", TO, "Hello")

    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.errors == ("Alpha-name is not registered",)
    assert "Alpha-name is not registered" in str(caught.value)
    assert fake.sent == []


def test_bad_key_is_permanent_and_never_shows_a_key(fake: FakeAlphaSms) -> None:
    wrong = "wrong-key-555555555"
    client = AlphaSmsClient(fake.url, Secret(wrong))

    with pytest.raises(AlphaSmsError) as caught:
        client.balance()

    assert caught.value.kind is ErrorKind.PERMANENT
    assert caught.value.errors == ("Wrong login/password",)
    assert wrong not in str(caught.value)
    assert fake.key not in str(caught.value)
    assert "key=Secret('***')" in repr(client)


@pytest.mark.parametrize("sender", ["", "TwelveLetter", "Shop!", "Магазин"])
def test_bad_sender_name_is_refused_before_any_request(
    client: AlphaSmsClient, fake: FakeAlphaSms, sender: str
) -> None:
    with pytest.raises(AlphaSmsError, match="sender name") as caught:
        client.send(sender, TO, "Hello")

    assert caught.value.kind is ErrorKind.PERMANENT
    assert fake.requests == []


def test_timeout_after_send_is_unknown_and_not_repeated(fake: FakeAlphaSms) -> None:
    client = short_timeout_client(fake)
    fake.stall_next(30.0)

    with pytest.raises(AlphaSmsError) as caught:
        client.send("Shop", TO, "Hello")

    assert caught.value.kind is ErrorKind.UNKNOWN
    assert not caught.value.retryable
    assert "may have been sent" in str(caught.value)
    assert fake.commands() == ["send"]
    assert len(fake.sent) == 1


def test_dropped_connection_after_send_is_unknown_and_not_repeated(
    client: AlphaSmsClient, fake: FakeAlphaSms
) -> None:
    fake.drop_next()

    with pytest.raises(AlphaSmsError) as caught:
        client.send("Shop", TO, "Hello")

    assert caught.value.kind is ErrorKind.UNKNOWN
    assert fake.commands() == ["send"]
    assert len(fake.sent) == 1


def test_timeout_of_a_read_only_command_is_transient(fake: FakeAlphaSms) -> None:
    client = short_timeout_client(fake)
    fake.stall_next(30.0)

    with pytest.raises(AlphaSmsError) as caught:
        client.balance()

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert fake.commands() == ["balance"]


def test_connection_refused_is_transient(fake: FakeAlphaSms) -> None:
    fake.close()
    client = AlphaSmsClient(fake.url, Secret(fake.key))

    with pytest.raises(AlphaSmsError) as caught:
        client.send("Shop", TO, "Hello")

    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.retryable
    assert "nothing was sent" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, ErrorKind.TRANSIENT),
        (502, ErrorKind.TRANSIENT),
        (503, ErrorKind.TRANSIENT),
        (504, ErrorKind.UNKNOWN),
        (429, ErrorKind.RATE_LIMITED),
        (403, ErrorKind.PERMANENT),
    ],
)
def test_http_status_of_a_send_decides_the_kind(
    client: AlphaSmsClient, fake: FakeAlphaSms, status: int, kind: ErrorKind
) -> None:
    fake.fail_next(status)

    with pytest.raises(AlphaSmsError) as caught:
        client.send("Shop", TO, "Hello")

    assert caught.value.kind is kind
    assert caught.value.status == status
    assert fake.commands() == ["send"]


def test_gateway_timeout_on_a_read_only_command_is_transient(
    client: AlphaSmsClient, fake: FakeAlphaSms
) -> None:
    fake.fail_next(504)

    with pytest.raises(AlphaSmsError) as caught:
        client.balance()

    assert caught.value.kind is ErrorKind.TRANSIENT


def test_status_maps_codes_to_our_words(client: AlphaSmsClient, fake: FakeAlphaSms) -> None:
    fake.statuses.update({"101": 3, "102": 2, "103": 99, "104": 0, "105": 77})

    found = client.status(["101", "102", "103", "104", "105", "999"])

    assert {k: v.state for k, v in found.items()} == {
        "101": DeliveryState.DELIVERED,
        "102": DeliveryState.SENT,
        "103": DeliveryState.FAILED,
        "104": DeliveryState.QUEUED,
        "105": DeliveryState.UNKNOWN,
        "999": DeliveryState.UNKNOWN,
    }
    assert found["101"].final
    assert not found["102"].final
    assert found["101"].code == 3
    assert found["101"].status_time == "2024-10-12T15:22:26+0200"
    assert found["103"].provider_text == "Error in number"
    assert found["999"].error == "SMS not found"
    assert [r.params["id"] for r in fake.requests] == ["101", "102", "103", "104", "105", "999"]
    assert set(fake.commands()) == {"receive"}


def test_status_of_a_sent_message(client: AlphaSmsClient, fake: FakeAlphaSms) -> None:
    sent = client.send("Shop", TO, "Hello")
    fake.statuses[sent.message_id] = 3

    assert client.status([sent.message_id])[sent.message_id].state is DeliveryState.DELIVERED


def test_status_raises_when_every_id_is_refused(fake: FakeAlphaSms) -> None:
    client = AlphaSmsClient(fake.url, Secret("not-the-key"))
    fake.statuses["101"] = 3

    with pytest.raises(AlphaSmsError, match="Wrong login/password"):
        client.status(["101"])


def test_balance_keeps_every_digit(client: AlphaSmsClient, fake: FakeAlphaSms) -> None:
    fake.balance = "-12.5"
    assert client.balance() == Decimal("-12.5")
    assert fake.commands() == ["balance"]


def test_price_of_one_sms(client: AlphaSmsClient, fake: FakeAlphaSms) -> None:
    found = client.price("+380501234567", sender="Shop")

    assert (found.amount, found.currency) == (Decimal("1.2"), "UAH")
    assert fake.requests[0].params["to"] == TO
    assert fake.requests[0].params["from"] == "Shop"


def test_errors_pair_without_text_is_still_a_refusal(
    client: AlphaSmsClient, fake: FakeAlphaSms
) -> None:
    fake.error_next("")

    with pytest.raises(AlphaSmsError, match="no text") as caught:
        client.send("Shop", TO, "Hello")

    assert caught.value.kind is ErrorKind.PERMANENT


def test_reply_without_an_id_leaves_a_send_unknown(
    client: AlphaSmsClient, fake: FakeAlphaSms
) -> None:
    fake.answer_next("<html><body>Maintenance</body></html>")

    with pytest.raises(AlphaSmsError) as caught:
        client.send("Shop", TO, "Hello")

    assert caught.value.kind is ErrorKind.UNKNOWN
    assert "Maintenance" in str(caught.value)


def test_reply_without_a_balance_is_transient(client: AlphaSmsClient, fake: FakeAlphaSms) -> None:
    fake.answer_next("<html><body>Maintenance</body></html>")

    with pytest.raises(AlphaSmsError, match="expected 'balance:<number>'") as caught:
        client.balance()

    assert caught.value.kind is ErrorKind.TRANSIENT


def test_fake_accepts_get_and_login_with_pass_or_password() -> None:
    with FakeAlphaSms(login="shop", password="pw-123") as fake:
        base = {"version": "http", "command": "balance", "login": "shop"}
        by_pass = requests.get(fake.endpoint, params={**base, "pass": "pw-123"}, timeout=5)
        by_password = requests.post(fake.endpoint, data={**base, "password": "pw-123"}, timeout=5)
        wrong = requests.get(fake.endpoint, params={**base, "pass": "nope"}, timeout=5)
        unknown = requests.get(
            fake.endpoint, params={"version": "http", "key": fake.key, "command": "x"}, timeout=5
        )

    assert by_pass.text == by_password.text == "balance:31.168300000000002\n"
    assert wrong.text == "errors:Wrong login/password\n"
    assert unknown.text == "errors:Unknown command\n"
    assert [r.method for r in fake.requests] == ["GET", "POST", "GET", "GET"]
