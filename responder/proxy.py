"""Behind a proxy: trust X-Forwarded-For and -Proto from exactly as many proxies as configured."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask, hops: int) -> None:
    """Trust the last *hops* values of X-Forwarded-For and X-Forwarded-Proto; 0 trusts none.

    X-Forwarded-Host, -Port and -Prefix stay untrusted: the platforms keep the Host header as
    the client sent it and do not set them, so any such header came from the client.
    """
    if hops <= 0:
        # A client can write any X-Forwarded-For; with no proxy of ours in front, it means nothing.
        return
    app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
        app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0
    )
