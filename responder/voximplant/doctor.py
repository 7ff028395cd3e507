"""Setup checks for the Voximplant account: credentials, numbers, callback URL, verification."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from responder.config import Config
from responder.voximplant.api import VoximplantClient
from responder.voximplant.errors import VoximplantApiError
from responder.voximplant.results import AccountInfo, PhoneNumber

CALLBACK_PATH = "/voximplant/callback"

# What to do about an API refusal, by Voximplant's code.
API_FIXES = {
    100: "check VOXIMPLANT_CREDENTIALS: the service account's key may have been deleted or "
    "belong to another account; generate a new key in the control panel (Service accounts)",
    104: "give the service account a role that allows this call (Owner, Admin or Developer)",
    433: "the key id in VOXIMPLANT_CREDENTIALS is unknown: generate a new key and use its "
    "credentials.json",
    447: "VOXIMPLANT_CREDENTIALS holds a key Voximplant cannot read: download credentials.json "
    "again",
    455: "this machine's clock is ahead: sync it (NTP)",
    456: "this machine's clock is behind: sync it (NTP)",
}


@dataclass(frozen=True)
class Check:
    """One doctor line: what was checked, whether it passed, and how to fix it if not."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None


def expected_callback_url(config: Config, public_url: str | None) -> str | None:
    """The callback URL Voximplant should call for this deployment, if its address is known."""
    base = (public_url or config.public_url or "").rstrip("/")
    if not base:
        return None
    url = base + CALLBACK_PATH
    if config.callback_token is not None:
        url += "/" + config.callback_token.reveal()
    return url


def api_fix(exc: VoximplantApiError) -> str:
    """A sentence on what to do about *exc*."""
    if isinstance(exc.code, int) and exc.code in API_FIXES:
        return API_FIXES[exc.code]
    if exc.code is None:
        return f"check that VOXIMPLANT_API_URL is right and reachable ({exc})"
    return "see Voximplant's error reference for this code"


def run_checks(
    config: Config,
    client: VoximplantClient,
    *,
    numbers: tuple[str, ...] = (),
    public_url: str | None = None,
) -> list[Check]:
    """Every check, in order; API checks after a refused login are reported as not run."""
    checks: list[Check] = []
    try:
        account = client.get_account_info()
    except VoximplantApiError as exc:
        checks.append(Check("credentials", False, f"refused: {exc}", api_fix(exc)))
        checks.append(Check("numbers", False, "not checked: the API refused the credentials", None))
        checks.append(_verification(config, None))
        return checks
    name = f" ({account.account_name})" if account.account_name else ""
    checks.append(Check("credentials", True, f"accepted for account {account.account_id}{name}"))
    try:
        attached = {n.phone_number: n for n in client.iter_phone_numbers()}
    except VoximplantApiError as exc:
        checks.append(Check("numbers", False, f"cannot list numbers: {exc}", api_fix(exc)))
        attached = {}
    wanted = numbers or config.our_numbers
    if not wanted:
        wanted = tuple(n for n, info in attached.items() if info.is_sms_supported)
        if not wanted:
            checks.append(
                Check(
                    "numbers",
                    False,
                    "the account has no number that supports SMS",
                    "buy an SMS-capable number in the control panel and set RESPONDER_NUMBERS",
                )
            )
    for number in wanted:
        checks.append(_number_check(number, attached.get(number)))
    expected = expected_callback_url(config, public_url)
    for number in wanted:
        found = attached.get(number)
        if found is not None:
            checks.append(_callback_check(number, found, account, expected))
    if not wanted:
        checks.append(_callback_check(None, None, account, expected))
    checks.append(_verification(config, account))
    return checks


def _number_check(number: str, found: PhoneNumber | None) -> Check:
    name = f"number {number}"
    if found is None:
        return Check(
            name,
            False,
            "not attached to this Voximplant account",
            "check RESPONDER_NUMBERS against `responder voximplant numbers`",
        )
    if found.deactivated or found.canceled:
        return Check(name, False, "deactivated or cancelled", "renew the number or remove it")
    if not found.is_sms_supported:
        return Check(
            name,
            False,
            "does not support SMS",
            "use an SMS-capable number (virtual numbers cannot send or receive SMS)",
        )
    if not found.is_sms_enabled:
        return Check(
            name, False, "SMS is disabled", f"run `responder voximplant enable-sms {number}`"
        )
    return Check(name, True, "SMS supported and enabled")


def _callback_check(
    number: str | None, found: PhoneNumber | None, account: AccountInfo, expected: str | None
) -> Check:
    name = f"callback for {number}" if number else "callback URL"
    own = found.incoming_sms_callback_url if found is not None else None
    actual = own or account.callback_url
    where = "number's own URL" if own else "account URL"
    if expected is None:
        return Check(
            name,
            False,
            f"{where} is {actual or 'not set'}; cannot tell whether it is this deployment",
            "set RESPONDER_PUBLIC_URL to this deployment's public address (or pass --url)",
        )
    target = expected
    if expected != _shown(expected):
        # Pasteable without printing the secret token.
        target = f'"{expected.rpartition("/")[0]}/$RESPONDER_CALLBACK_TOKEN"'
    fix = f"run `responder voximplant set-callback {target}" + (
        f" --number {number}`" if own else "`"
    )
    if not actual:
        return Check(name, False, "no callback URL is set", fix)
    if actual.rstrip("/") != expected:
        return Check(name, False, f"{where} is {_shown(actual)}, not {_shown(expected)}", fix)
    return Check(name, True, f"{where} points at this deployment")


def _verification(config: Config, account: AccountInfo | None) -> Check:
    name = "callback verification"
    if not config.callbacks_verified:
        return Check(
            name,
            False,
            "callbacks are not verified: anyone could post fake messages",
            "run `responder voximplant set-callback URL --salt auto`, then set the "
            "VOXIMPLANT_CALLBACK_SALT it prints and VOXIMPLANT_API_KEY (Settings -> API Keys)",
        )
    if not config.hash_configured:
        return Check(name, True, "by the secret token in the callback URL")
    if account is None:
        return Check(name, True, "hash check configured (salt not compared: no API access)")
    if account.callback_salt is None:
        return Check(
            name,
            False,
            "VOXIMPLANT_CALLBACK_SALT is set but the account has no callback salt, so "
            "callbacks would fail the hash check",
            "run `responder voximplant set-callback URL --salt VALUE` with the configured salt",
        )
    configured = config.callback_salt.reveal() if config.callback_salt else ""
    if not hmac.compare_digest(account.callback_salt.reveal(), configured):
        return Check(
            name,
            False,
            "the account's callback salt differs from VOXIMPLANT_CALLBACK_SALT",
            "set VOXIMPLANT_CALLBACK_SALT to the salt in Settings -> Webhooks, or run "
            "`responder voximplant set-callback URL --salt auto`",
        )
    return Check(name, True, "hash check configured and the salt matches the account's")


def _shown(url: str) -> str:
    """*url* with a secret path token shortened, so doctor output can be shared."""
    head, sep, tail = url.rpartition(CALLBACK_PATH + "/")
    if sep and tail:
        return f"{head}{sep}{tail[:4]}…"
    return url
