"""Recompute the themes in the written feedback (`flask --app wsgi themes recompute`, daily by
deploy/tracker-themes.timer) and store them as one run: each theme's top terms, how many texts it
holds, its share of each month's and each churn reason's texts, and a few example quotes.

Quotes keep the feedback page's anonymity rules: text only (no name, no email, no mentor), never a
"mentor could do better" text an operator hid (abusive or identifying), and cut to QUOTE_LENGTH.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

from tracker.core.extensions import db
from tracker.data.database import unit_of_work
from tracker.data.models import ThemeRun
from tracker.reports import metrics, queries, text_themes
from tracker.services.errors import Invalid

QUOTES = 3
QUOTE_LENGTH = 240
THEMES_MAX = 20


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_LENGTH else text[:QUOTE_LENGTH - 1].rstrip() + "…"


def recompute(at: datetime, k: int = text_themes.DEFAULT_THEMES, seed: int = 1) -> ThemeRun:
    if not 1 <= k <= THEMES_MAX:
        raise Invalid(f"Ask for 1 to {THEMES_MAX} themes.", field="k")
    rows = list(queries.feedback_texts(at))
    found = text_themes.find([row[4] for row in rows], k=k, seed=seed)
    months, reasons = Counter(), Counter()
    by_month, by_reason, sizes = Counter(), Counter(), Counter()
    candidates: dict[int, list[tuple[float, str]]] = {}
    for (_survey, submitted, reason, _field, text, hidden), theme, weight in zip(rows, found.assigned.tolist(),
                                                                               found.weights.tolist()):
        month = f"{submitted:%Y-%m}"
        months[month] += 1
        reasons[reason] += 1
        if theme < 0:
            continue
        sizes[theme] += 1
        by_month[(theme, month)] += 1
        by_reason[(theme, reason)] += 1
        if not hidden:
            candidates.setdefault(theme, []).append((-weight, _quote(text)))
    themes = []
    for theme in range(found.count):
        quotes = []
        for _, text in sorted(candidates.get(theme, [])):
            if text not in quotes:
                quotes.append(text)
            if len(quotes) == QUOTES:
                break
        themes.append({
            "id": theme, "terms": found.terms[theme], "texts": sizes[theme],
            **metrics.theme_shares(theme, sizes[theme], len(rows), by_month, months, by_reason, reasons),
            "quotes": quotes,
        })
    themes.sort(key=lambda t: -t["texts"])
    document = {"texts": len(rows), "unassigned": int((found.assigned < 0).sum()),
                "months": dict(sorted(months.items())), "reasons": dict(sorted(reasons.items())), "themes": themes}
    with unit_of_work():
        run = ThemeRun(computed_at=at, themes_asked=k, seed=seed, texts=len(rows),
                       document=json.dumps(document, sort_keys=True))
        db.session.add(run)
    return run
