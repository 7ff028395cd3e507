"""WSGI entry point: gunicorn wsgi:app."""

import sys

from responder import create_app
from responder.errors import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    print(f"responder cannot start; {exc}", file=sys.stderr, flush=True)
    # gunicorn's "app failed to load" code: the master stops instead of restarting the worker.
    raise SystemExit(4) from None
