"""responder: an SMS auto-responder for the Voximplant cloud."""

from __future__ import annotations

import logging
import os
import secrets as _secrets
from functools import partial
from typing import TextIO

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException

from responder.compliance.rulecheck import check_configured_words
from responder.config import Config
from responder.logs import configure_logging
from responder.metrics import Metrics
from responder.providers.factory import make_provider
from responder.ruleset import RulesetHolder
from responder.services import Services
from responder.store.db import create_schema, make_engine

log = logging.getLogger(__name__)


def create_app(
    config: Config | None = None,
    *,
    start_sender: bool | None = None,
    log_stream: TextIO | None = None,
) -> Flask:
    """Build the Flask app: wiring only; reads the environment only when no config is given."""
    if config is None:
        config = Config.from_env(os.environ)
    configure_logging(config, stream=log_stream)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(config.data_dir))
    app.config["SECRET_KEY"] = config.secret_key.reveal() or _secrets.token_hex(32)
    engine = make_engine(config.database_url, data_dir=config.data_dir)
    create_schema(engine)
    # A rule claiming a configured opt-out, opt-in or help word is refused, as `rules check` says.
    claims = partial(check_configured_words, settings=config.compliance)
    rules = RulesetHolder(
        config.rules_dir, interval_s=config.rules_reload_interval_s, logger=log, checks=[claims]
    )
    rules.watch()
    services = Services(
        config=config,
        engine=engine,
        rules=rules,
        provider=make_provider(config),
        metrics=Metrics(config.metrics_dir),
        inbox_engine=_inbox_engine(config, engine),
    )
    app.extensions["responder"] = services

    from responder import callbacks, dashboard, health, metrics_endpoint, proxy, request_ids

    proxy.init_app(app, config.proxy_hops)
    request_ids.init_app(app)
    callbacks.init_app(app)
    dashboard.init_app(app)
    health.init_app(app)
    metrics_endpoint.init_app(app)
    _register_errors(app)
    _warn_about_setup(config)
    if start_sender if start_sender is not None else config.sender_mode == "web":
        from responder.sender import Sender

        services.sender = Sender(services)
        services.sender.start()
    return app


def _inbox_engine(config: Config, engine: Engine) -> Engine | None:
    """Queue mode's inbox file on SQLite; also when one is left from an earlier run in it."""
    from responder.store.inbox import inbox_engine

    separate = inbox_engine(engine, config.data_dir, create=config.intake_mode == "queue")
    return None if separate is engine else separate


def _register_errors(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        return jsonify({"error": exc.description}), exc.code or 500

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error")
        return jsonify({"error": "internal error; it has been logged"}), 500


def _warn_about_setup(config: Config) -> None:
    if not config.callbacks_verified:
        log.warning(
            "CALLBACKS ARE NOT VERIFIED: anyone who can reach this service can post callbacks. "
            "Set VOXIMPLANT_CALLBACK_SALT and VOXIMPLANT_API_KEY (or RESPONDER_CALLBACK_TOKEN) "
            "before going live."
        )
    if config.provider == "log":
        log.warning("provider 'log': replies are written to the log, not sent")
