"""Dashboard pages beyond conversations: opt-outs, rules and the simulator."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from responder.dashboard.blueprint import bp


@bp.get("/optouts")
def optouts() -> ResponseReturnValue:
    return render_template("dashboard/error.html", code=200, description="to do")


@bp.get("/rules")
def rules() -> ResponseReturnValue:
    return render_template("dashboard/error.html", code=200, description="to do")


@bp.route("/simulator", methods=["GET", "POST"])
def simulator() -> ResponseReturnValue:
    return render_template("dashboard/error.html", code=200, description="to do")
