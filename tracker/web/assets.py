"""plotly.js, served from the installed plotly package: the app needs no CDN and no internet,
and the bundle always matches the pinned plotly version."""
from __future__ import annotations

import os

import plotly
from flask import Blueprint, send_from_directory

bp = Blueprint("assets", __name__)
PLOTLY_DIR = os.path.join(os.path.dirname(plotly.__file__), "package_data")


@bp.get("/assets/plotly.min.js")
def plotly_js():
    return send_from_directory(PLOTLY_DIR, "plotly.min.js", mimetype="text/javascript", max_age=31536000)
