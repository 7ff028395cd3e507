"""The baseline: a bare Flask app whose one route reads the body and answers 200."""

from __future__ import annotations

from flask import Flask, request

app = Flask(__name__)


@app.post("/voximplant/callback")
def callback() -> tuple[str, int]:
    request.get_data()
    return '{"accepted": 1}', 200
