"""GET /metrics: this process's counters (or every worker's) and the database gauges."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from responder.metrics import DatabaseCollector
from responder.services import current_services

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape() -> ResponseReturnValue:
    services = current_services()
    token = services.config.metrics_token
    if token is not None:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.equals(given.strip()):
            answer = jsonify({"error": "a bearer token is required for /metrics"})
            answer.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return answer, 401
    metrics = services.metrics
    registry = CollectorRegistry()
    if metrics.multiproc_dir is not None:
        multiprocess.MultiProcessCollector(registry, path=str(metrics.multiproc_dir))  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward(metrics.registry))  # type: ignore[arg-type]
    registry.register(DatabaseCollector(services))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class _Forward(Collector):
    """This process's own registry, scraped together with the database gauges."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
