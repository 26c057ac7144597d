"""Themes in the written feedback: found on a generated set with known themes (each one found; the
adjusted Rand index against the known labels is written in docs/THEMES.md), the same for the same
seed, stored by the command with shares and quotes that keep the feedback page's anonymity rules."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import timedelta

import pytest
from sklearn.metrics import adjusted_rand_score

from tracker.core.extensions import db
from tracker.data.models import ExitSurvey, ThemeRun
from tracker.reports import text_themes

from .factories import count, mentorship, user
from .helpers import T0
from .servers import ROOT

KNOWN = {
    "price": "expensive price cost money budget afford fee pricing cheaper",
    "time": "busy schedule time calendar hours deadlines workload evenings weekends",
    "unresponsive": "reply unresponsive late cancelled sessions answer messages ignored waiting",
    "platform": "bug login crash page error video call broken app",
    "fit": "fit mismatch style experience field industry background switch",
    "praise": "great helpful clear goal reached confident promotion grateful",
}
FILLER = "really just also very mentor mentorship month things lot".split()


def generated(n: int, seed: int = 4, borrowed: float = 0.0) -> tuple[list[str], list[str]]:
    """n texts of known themes; `borrowed`: for each word of its theme, this many words of other themes."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        label = rng.choice(list(KNOWN))
        words = rng.sample(KNOWN[label].split(), rng.randint(4, 7))
        for _ in range(round(len(words) * borrowed)):
            words.append(rng.choice(KNOWN[rng.choice([k for k in KNOWN if k != label])].split()))
        words += rng.sample(FILLER, rng.randint(1, 3))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return texts, labels


@pytest.mark.parametrize("borrowed, least", [(0.0, 0.99), (0.5, 0.95)])
def test_each_known_theme_is_found(borrowed, least):
    """docs/THEMES.md gives the figures (1,500 texts, 6 themes): adjusted Rand index 1.0 on clean texts,
    and 1.0 when half as many words again come from other themes."""
    texts, labels = generated(1500, seed=3, borrowed=borrowed)
    found = text_themes.find(texts, k=len(KNOWN), seed=1)
    score = adjusted_rand_score(labels, found.assigned)
    assert score >= least, score
    for label, vocabulary in KNOWN.items():
        words = set(vocabulary.split())
        assert any(len(words & set(" ".join(terms).split())) >= 3 for terms in found.terms), label


def test_the_same_seed_gives_the_same_themes():
    texts, _ = generated(300)
    first, second = text_themes.find(texts, k=4, seed=9), text_themes.find(texts, k=4, seed=9)
    assert first.terms == second.terms and (first.assigned == second.assigned).all()


def test_the_app_loads_without_scikit_learn_until_themes_are_found(tmp_path):
    """A web worker never finds themes: scikit-learn (1.8 s of every worker's start) stays unloaded
    until the first call of text_themes.find."""
    probe = ("import sys, wsgi\n"
             "from tracker.reports import text_themes\n"
             "print('sklearn' in sys.modules)\n"
             "text_themes.find(['mentors answer questions', 'mentors answer quickly', 'prices are high'], k=2)\n"
             "print('sklearn' in sys.modules)\n")
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'probe.sqlite'}")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]


def test_too_little_text_gives_no_theme():
    assert text_themes.find(["the and of"], k=3).count == 0
    assert text_themes.find(["a", "the and"], k=3).count == 0


def test_the_command_stores_themes_with_shares_and_safe_quotes(app, world, login):
    texts, labels = generated(120, seed=2)
    for i, text in enumerate(texts):
        mentee = user(app, "mentee", f"t{i}@example.com", f"Writer {i}")
        hidden = labels[i] == "unresponsive" and i % 2 == 0
        mid = mentorship(app, mentee, world.mentor, applied_at=T0 - timedelta(days=50), ended_at=T0 - timedelta(
            days=i % 40 + 1), trial_started_at=T0 - timedelta(days=49),
            survey=dict(stars=3, goal_reached="no", churn_reason="other", feedback_mentor=text))
        if hidden:
            with app.app_context():
                survey = db.session.scalars(db.select(ExitSurvey).where(ExitSurvey.mentorship_id == mid)).one()
                survey.mentor_feedback_hidden_reason = "names a third person"
                db.session.commit()
    result = app.test_cli_runner().invoke(args=["themes", "recompute", "--themes", "6"])
    assert result.exit_code == 0 and "Found the themes in 120 texts" in result.output, result.output
    with app.app_context():
        run = db.session.scalars(db.select(ThemeRun)).one()
        found = json.loads(run.document)
    assert found["texts"] == 120 and len(found["themes"]) == 6
    assert sum(t["texts"] for t in found["themes"]) + found["unassigned"] == 120
    for theme in found["themes"]:
        assert sum(theme["by_reason"].values()) == pytest.approx(theme["texts"] / 120)
        for quote in theme["quotes"]:
            written_by = texts.index(quote)
            assert not (labels[written_by] == "unresponsive" and written_by % 2 == 0), "a hidden text was quoted"
            assert "@" not in quote
    page = login(world.operator).get("/ops/themes").get_data(as_text=True)
    assert "Themes in what mentees wrote" in page and "120 written answers" in page


def test_the_page_says_when_nothing_was_computed(world, login):
    assert "Not computed yet" in login(world.operator).get("/ops/themes").get_data(as_text=True)


def test_a_bad_theme_count_is_refused(app):
    result = app.test_cli_runner().invoke(args=["themes", "recompute", "--themes", "0"])
    assert result.exit_code == 2 and "1 to 20" in result.output
    assert count(app, ThemeRun) == 0
