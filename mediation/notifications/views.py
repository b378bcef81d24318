"""The notices inbox: newest first, unread marked in words, each opening its case."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import login_required

from mediation.notifications.operations import inbox, mark_all_read, open_notice
from mediation.pages.actor import current_actor
from mediation.pages.forms import PageForm
from mediation.web import db_session

notifications = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 20


@notifications.route("")
@login_required
def index() -> Any:
    """The signed-in user's notices."""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows, total = inbox(db_session(), current_actor(), page, PER_PAGE)
    return render_template("notifications/index.html", notices=rows, total=total, page=page,
                           pages=max(1, -(-total // PER_PAGE)), form=PageForm())


@notifications.route("/<int:notice_id>", methods=["POST"])
@login_required
def open_one(notice_id: int) -> Any:
    """Mark a notice read and go to its case."""
    notice = open_notice(db_session(), current_actor(), notice_id)
    if notice.case_id is None:
        return redirect(url_for("notifications.index"))
    return redirect(url_for("cases.show", case_id=notice.case_id))


@notifications.route("/read", methods=["POST"])
@login_required
def read_all() -> Any:
    """Mark every notice read."""
    mark_all_read(db_session(), current_actor())
    return redirect(url_for("notifications.index"))
