"""gunicorn settings from the environment (PORT, WEB_CONCURRENCY, timeouts), PaaS style."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
accesslog = "-"
errorlog = "-"
# The sender thread starts inside each worker (create_app); preloading would start it in the master.
preload_app = False
# gunicorn 24+ opens a control socket under the home directory; the service writes only to its
# data directory, and nothing here uses the socket.
control_socket_disable = True
