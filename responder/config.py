"""Configuration: the environment in, one typed, validated Config out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from responder.compliance.settings import ComplianceSettings, read_compliance
from responder.errors import ConfigError, InvalidNumberError
from responder.numbers import normalise_number
from responder.providers.alphasms import AlphaSmsSettings, read_alphasms_settings
from responder.providers.routing import Route, parse_routes
from responder.secret import Secret

DEFAULT_API_URL = "https://api.voximplant.com/platform_api"
PROVIDERS = ("voximplant", "alphasms", "log")
SENDER_MODES = ("web", "off")
# inline: a callback is processed before it is answered; queue: answered once it is stored in
# the inbox, processed right after by the sender process (see docs/delivery.md).
INTAKE_MODES = ("inline", "queue")
MAX_SEND_CONCURRENCY = 10  # a sender claims at most ten messages at a time
LOG_FORMATS = ("json", "text")


@dataclass(frozen=True)
class VoximplantAccount:
    """A service-account key: who we are and how we sign Management API requests."""

    account_id: int
    key_id: str
    private_key: Secret
    account_email: str | None = None


@dataclass(frozen=True)
class Config:
    """Everything the service needs to know, read once at start-up."""

    data_dir: Path
    rules_dir: Path
    database_url: str
    provider: str = "log"
    voximplant: VoximplantAccount | None = None
    voximplant_api_url: str = DEFAULT_API_URL
    callback_salt: Secret | None = None
    api_key: Secret | None = None
    callback_token: Secret | None = None
    sender_mode: str = "web"
    intake_mode: str = "inline"
    send_timeout_s: float = 10.0
    max_attempts: int = 6
    retry_delays_s: tuple[float, ...] = (2.0, 10.0, 60.0, 300.0, 1800.0)
    # Durable delivery: give up on replies older than this; pace each of our numbers
    # (messages per second, 0: no limit); poll delivery states (seconds, 0: off).
    max_age_s: float = 24 * 3600.0
    rate_limit: float = 0.0
    status_poll_s: float = 0.0
    store_bodies: bool = True  # False: keep message metadata, drop texts once handled or sent
    funds_hold_s: float = 60.0  # insufficient funds: hold the queue this long, then probe again
    send_lease_s: float | None = None  # set: see lease_s
    send_concurrency: int = 4  # messages one sender sends at the same time, 1 to 10
    rules_reload_interval_s: float = 1.0
    handoff_idle_s: float = 24 * 3600.0
    admin_password: Secret | None = None
    secret_key: Secret = field(default_factory=lambda: Secret(""))
    # The dashboard's session cookie is Secure (HTTPS only); turn off only for local plain http.
    cookie_secure: bool = True
    # Running on a PaaS: log lines, proxies, metrics, quarantined callbacks.
    log_format: str = "json"
    proxy_hops: int = 0
    metrics_token: Secret | None = None
    metrics_dir: Path | None = None  # PROMETHEUS_MULTIPROC_DIR: several processes, one /metrics
    quarantine_max: int = 1000
    # Opt-out words and replies, loop breaker, quiet hours (docs/compliance.md).
    compliance: ComplianceSettings = field(default_factory=ComplianceSettings)
    # Outbound providers besides Voximplant, and which messages each one sends.
    alphasms: AlphaSmsSettings | None = None
    routes: tuple[Route, ...] = ()
    # Where Voximplant reaches this deployment and our numbers there (`voximplant doctor`).
    public_url: str | None = None
    our_numbers: tuple[str, ...] = ()

    @property
    def callbacks_verified(self) -> bool:
        """True when callbacks are authenticated by the hash or by a secret URL token."""
        return self.hash_configured or self.callback_token is not None

    @property
    def hash_configured(self) -> bool:
        return self.callback_salt is not None and self.api_key is not None

    @property
    def lease_s(self) -> float:
        """How long a sender holds a reply it claimed, or a queued callback it took, before
        another may take it back: RESPONDER_SEND_LEASE, else 4 send timeouts + 30 s, >= 60 s."""
        return self.send_lease_s or max(60.0, 4 * self.send_timeout_s + 30.0)

    def with_changes(self, **changes: Any) -> Config:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, cwd: Path | None = None) -> Config:
        """Build a Config from environment variables; raise ConfigError listing every problem."""
        return _Reader(environ, cwd or Path.cwd()).read()

    @classmethod
    def for_data_dir(cls, data_dir: Path, rules_dir: Path, **changes: Any) -> Config:
        """A config with defaults under *data_dir*; what tests and tools start from."""
        data_dir = data_dir.resolve()
        base = cls(
            data_dir=data_dir,
            rules_dir=rules_dir.resolve(),
            database_url=sqlite_url(data_dir / "responder.db"),
        )
        return replace(base, **changes)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def normalise_database_url(url: str) -> str:
    """Accept PaaS-style postgres:// URLs and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def parse_credentials(raw: str, *, base: Path) -> VoximplantAccount:
    """Read service-account credentials from JSON text or a file path (flat or under 'result')."""
    text = raw.strip()
    if not text.startswith("{"):
        path = Path(text)
        if not path.is_absolute():
            path = base / path
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read credentials file {path}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    if isinstance(data, dict) and isinstance(data.get("result"), dict):
        data = data["result"]
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object with account_id, key_id and private_key")
    missing = [k for k in ("account_id", "key_id", "private_key") if not data.get(k)]
    if missing:
        raise ValueError("missing " + ", ".join(missing))
    try:
        account_id = int(data["account_id"])
    except (TypeError, ValueError):
        raise ValueError("account_id must be a number") from None
    key = str(data["private_key"])
    if "PRIVATE KEY-----" not in key:
        raise ValueError("private_key is not a PEM private key")
    email = data.get("account_email")
    return VoximplantAccount(account_id, str(data["key_id"]), Secret(key), email and str(email))


class _Reader:
    """Reads variables one by one, collecting problems instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str], cwd: Path) -> None:
        self.env = environ
        self.cwd = cwd
        self.problems: list[str] = []

    def get(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None or value.strip() == "":
            return None
        return value

    def secret(self, name: str, *, max_len: int | None = None) -> Secret | None:
        value = self.get(name)
        if value is None:
            return None
        if max_len is not None and len(value) > max_len:
            self.problems.append(f"{name}: must be at most {max_len} characters")
        return Secret(value)

    def number(self, name: str, default: float, *, minimum: float = 0) -> float:
        value = self.get(name)
        if value is None:
            return default
        try:
            result = float(value)
        except ValueError:
            self.problems.append(f"{name}: expected a number (got {value!r})")
            return default
        if result < minimum:
            self.problems.append(f"{name}: must be at least {minimum} (got {value!r})")
        return result

    def retry_delays(self) -> tuple[float, ...]:
        default = Config.retry_delays_s
        raw = self.get("RESPONDER_RETRY_DELAYS")
        if raw is None:
            return default
        try:
            delays = tuple(float(part) for part in raw.replace(" ", "").split(","))
        except ValueError:
            delays = ()
        if not delays or any(d <= 0 for d in delays):
            self.problems.append(
                "RESPONDER_RETRY_DELAYS: expected positive seconds separated by commas, "
                f"e.g. 2,10,60,300,1800 (got {raw!r})"
            )
            return default
        return delays

    def send_lease(self) -> float | None:
        if self.get("RESPONDER_SEND_LEASE") is None:
            return None
        lease = self.number("RESPONDER_SEND_LEASE", 60.0, minimum=1)
        try:  # RESPONDER_SEND_TIMEOUT reports its own problems
            timeout = float(self.get("RESPONDER_SEND_TIMEOUT") or 10.0)
        except ValueError:
            return lease
        if lease < 4 * timeout:
            self.problems.append(
                f"RESPONDER_SEND_LEASE: must be at least 4 times RESPONDER_SEND_TIMEOUT "
                f"({4 * timeout:g} s), or a slow send could be sent twice (got {lease:g})"
            )
        return lease

    def flag(self, name: str, default: bool) -> bool:
        value = self.get(name)
        if value is None:
            return default
        word = value.strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
        self.problems.append(f"{name}: expected true or false (got {value!r})")
        return default

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = (self.get(name) or default).strip().lower()
        if value not in choices:
            self.problems.append(f"{name}: must be one of {', '.join(choices)} (got {value!r})")
            return default
        return value

    def path(self, name: str, default: str) -> Path:
        path = Path(self.get(name) or default)
        return (path if path.is_absolute() else self.cwd / path).resolve()

    def whole(self, name: str, default: int, *, minimum: int = 0) -> int:
        value = self.number(name, default, minimum=minimum)
        if not float(value).is_integer():
            self.problems.append(f"{name}: expected a whole number (got {self.get(name)!r})")
            return default
        return int(value)

    def send_concurrency(self) -> int:
        value = self.whole("RESPONDER_SEND_CONCURRENCY", 4, minimum=1)
        if value > MAX_SEND_CONCURRENCY:
            got = self.get("RESPONDER_SEND_CONCURRENCY")
            self.problems.append(
                f"RESPONDER_SEND_CONCURRENCY: must be at most {MAX_SEND_CONCURRENCY}, the "
                f"messages a sender claims at a time (got {got!r})"
            )
            return 4
        return value

    def metrics_token(self) -> Secret | None:
        token = self.secret("RESPONDER_METRICS_TOKEN")
        if token is not None and len(token.reveal()) < 16:
            self.problems.append("RESPONDER_METRICS_TOKEN: use at least 16 characters")
        return token

    def alphasms(self) -> AlphaSmsSettings | None:
        settings, problems = read_alphasms_settings(self.env)
        self.problems.extend(problems)
        return settings

    def routes(self) -> tuple[Route, ...]:
        text = self.get("RESPONDER_ROUTES")
        if text is None:
            return ()
        try:
            return tuple(parse_routes(text))
        except ValueError as exc:
            self.problems.append(f"RESPONDER_ROUTES: {exc}")
            return ()

    def public_url(self) -> str | None:
        url = self.get("RESPONDER_PUBLIC_URL")
        if url is None:
            return None
        url = url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            self.problems.append(
                f"RESPONDER_PUBLIC_URL: expected an http(s) URL such as https://sms.example.com "
                f"(got {url!r})"
            )
        return url

    def our_numbers(self) -> tuple[str, ...]:
        found: list[str] = []
        for raw in (self.get("RESPONDER_NUMBERS") or "").replace(";", ",").split(","):
            if not raw.strip():
                continue
            try:
                found.append(normalise_number(raw))
            except InvalidNumberError as exc:
                self.problems.append(f"RESPONDER_NUMBERS: {exc}")
        return tuple(dict.fromkeys(found))

    def metrics_dir(self) -> Path | None:
        if self.get("PROMETHEUS_MULTIPROC_DIR") is None:
            return None
        path = self.path("PROMETHEUS_MULTIPROC_DIR", "")
        if path.exists() and not path.is_dir():
            self.problems.append(f"PROMETHEUS_MULTIPROC_DIR: {path} exists and is not a directory")
        return path

    def read(self) -> Config:
        data_dir = self.path("RESPONDER_DATA_DIR", "instance")
        rules_dir = self.path("RESPONDER_RULES_DIR", "rules")
        if data_dir.exists() and not data_dir.is_dir():
            self.problems.append(f"RESPONDER_DATA_DIR: {data_dir} exists and is not a directory")
        if not rules_dir.is_dir():
            self.problems.append(f"RESPONDER_RULES_DIR: {rules_dir} is not a directory")

        database_url = self.get("DATABASE_URL")
        if database_url is None:
            database_url = sqlite_url(data_dir / "responder.db")
        else:
            database_url = normalise_database_url(database_url.strip())
            if not database_url.startswith(("sqlite:", "postgresql+psycopg:")):
                self.problems.append(
                    "DATABASE_URL: expected a sqlite:/// or postgres:// URL "
                    f"(got scheme {database_url.split(':', 1)[0]!r})"
                )

        account = None
        raw_credentials = self.get("VOXIMPLANT_CREDENTIALS")
        if raw_credentials is not None:
            try:
                account = parse_credentials(raw_credentials, base=self.cwd)
            except ValueError as exc:
                self.problems.append(f"VOXIMPLANT_CREDENTIALS: {exc}")

        api_url = (self.get("VOXIMPLANT_API_URL") or DEFAULT_API_URL).rstrip("/")
        if not api_url.startswith(("http://", "https://")):
            self.problems.append(f"VOXIMPLANT_API_URL: expected an http(s) URL (got {api_url!r})")

        salt = self.secret("VOXIMPLANT_CALLBACK_SALT", max_len=40)
        api_key = self.secret("VOXIMPLANT_API_KEY")
        if (salt is None) != (api_key is None):
            have, lack = (
                ("VOXIMPLANT_CALLBACK_SALT", "VOXIMPLANT_API_KEY")
                if salt
                else ("VOXIMPLANT_API_KEY", "VOXIMPLANT_CALLBACK_SALT")
            )
            self.problems.append(f"{lack}: must be set too when {have} is set (hash check)")
        token = self.secret("RESPONDER_CALLBACK_TOKEN")
        if token is not None and (len(token.reveal()) < 16 or not token.reveal().isalnum()):
            self.problems.append(
                "RESPONDER_CALLBACK_TOKEN: use at least 16 letters and digits (no other characters)"
            )

        default_provider = "voximplant" if raw_credentials is not None else "log"
        provider = self.choice("RESPONDER_PROVIDER", PROVIDERS, default_provider)
        alphasms = self.alphasms()
        routes = self.routes()
        if provider == "alphasms" and alphasms is None and self.get("ALPHASMS_API_KEY") is None:
            self.problems.append(
                "RESPONDER_PROVIDER: 'alphasms' needs ALPHASMS_API_KEY and ALPHASMS_SENDER"
            )
        available = {"log", provider}
        if account is not None or raw_credentials is not None:
            available.add("voximplant")
        if alphasms is not None or self.get("ALPHASMS_API_KEY") is not None:
            available.add("alphasms")
        for route in routes:
            if route.provider not in available:
                self.problems.append(
                    f"RESPONDER_ROUTES: {route} names provider {route.provider!r}, which is not "
                    f"configured (configured: {', '.join(sorted(available))})"
                )
        if provider == "voximplant":
            if raw_credentials is None:
                self.problems.append(
                    "RESPONDER_PROVIDER: 'voximplant' needs VOXIMPLANT_CREDENTIALS"
                )
            if salt is None and token is None:
                self.problems.append(
                    "VOXIMPLANT_CALLBACK_SALT: callbacks must be verified with a real provider: "
                    "set VOXIMPLANT_CALLBACK_SALT and VOXIMPLANT_API_KEY, "
                    "or RESPONDER_CALLBACK_TOKEN"
                )

        config = Config(
            data_dir=data_dir,
            rules_dir=rules_dir,
            database_url=database_url,
            provider=provider,
            voximplant=account,
            voximplant_api_url=api_url,
            callback_salt=salt,
            api_key=api_key,
            callback_token=token,
            sender_mode=self.choice("RESPONDER_SENDER", SENDER_MODES, "web"),
            intake_mode=self.choice("RESPONDER_INTAKE", INTAKE_MODES, "inline"),
            send_timeout_s=self.number("RESPONDER_SEND_TIMEOUT", 10.0, minimum=0.1),
            max_attempts=int(self.number("RESPONDER_MAX_ATTEMPTS", 6, minimum=1)),
            max_age_s=self.number("RESPONDER_MAX_AGE", 24 * 3600.0, minimum=60),
            rate_limit=self.number("RESPONDER_RATE_LIMIT", 0.0, minimum=0),
            status_poll_s=self.number("RESPONDER_STATUS_POLL", 0.0, minimum=0),
            store_bodies=self.flag("RESPONDER_STORE_BODIES", True),
            funds_hold_s=self.number("RESPONDER_FUNDS_HOLD", 60.0, minimum=1),
            retry_delays_s=self.retry_delays(),
            send_lease_s=self.send_lease(),
            send_concurrency=self.send_concurrency(),
            handoff_idle_s=self.number("RESPONDER_HANDOFF_IDLE", 24 * 3600.0, minimum=60),
            admin_password=self.secret("RESPONDER_ADMIN_PASSWORD"),
            secret_key=self.secret("RESPONDER_SECRET_KEY") or Secret(""),
            cookie_secure=self.flag("RESPONDER_COOKIE_SECURE", True),
            log_format=self.choice("RESPONDER_LOG_FORMAT", LOG_FORMATS, "json"),
            proxy_hops=self.whole("RESPONDER_PROXY_HOPS", 0),
            metrics_token=self.metrics_token(),
            metrics_dir=self.metrics_dir(),
            quarantine_max=self.whole("RESPONDER_QUARANTINE_MAX", 1000),
            compliance=read_compliance(self.get, self.number, self.problems),
            alphasms=alphasms,
            routes=routes,
            public_url=self.public_url(),
            our_numbers=self.our_numbers(),
        )
        if self.problems:
            raise ConfigError(self.problems)
        return config
