"""Behind a proxy: trust X-Forwarded-* from exactly as many proxies as configured, no more."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask, hops: int) -> None:
    """Trust the last *hops* values of each X-Forwarded-* header; 0 trusts none of them."""
    if hops <= 0:
        # A client can write any X-Forwarded-For; with no proxy of ours in front, it means nothing.
        return
    app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
        app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
    )
