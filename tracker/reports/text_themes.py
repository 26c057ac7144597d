"""Themes in what people wrote, found in the text itself: TF-IDF over words and word pairs, then
non-negative matrix factorisation (scikit-learn), with no internet and no downloaded model. The same
texts, k and seed give the same themes.

Pure: texts in, themes out (tracker/services/themes.py reads the surveys and stores the result).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np

DEFAULT_THEMES = 8
TERMS_SHOWN = 6
# Fitting reads at most this many texts (a seeded sample); every text is then assigned with the fit.
FIT_AT_MOST = 100_000
ASSIGN_BATCH = 50_000


@dataclass
class Themes:
    terms: list[list[str]]   # per theme, its top terms, most telling first
    assigned: np.ndarray     # per text, its theme (-1: none, e.g. only stop words)
    weights: np.ndarray      # per text, the weight of its theme

    @property
    def count(self) -> int:
        return len(self.terms)


def _scikit_learn(module: str):
    """scikit-learn, imported when themes are first found. Every web worker imports this module (through
    the CLI's registration) but never finds themes; importing scikit-learn there cost each worker about
    1.8 s at every start, and gunicorn restarts workers now and then (docs/PERFORMANCE.md)."""
    return importlib.import_module(f"sklearn.{module}")


def find(texts: list[str], k: int = DEFAULT_THEMES, seed: int = 1) -> Themes:
    """Group `texts` into at most `k` themes (fewer when there are too few distinct words)."""
    empty = Themes([], np.full(len(texts), -1), np.zeros(len(texts)))
    if len(texts) < 2:
        return empty
    rng = np.random.default_rng(seed)
    fit_on = texts if len(texts) <= FIT_AT_MOST else [texts[i] for i in rng.choice(len(texts), FIT_AT_MOST,
                                                                                    replace=False)]
    vectorizer = _scikit_learn("feature_extraction.text").TfidfVectorizer(
        stop_words="english", ngram_range=(1, 2), min_df=2 if len(fit_on) >= 50 else 1,
        max_df=0.9, max_features=20_000, sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform(fit_on)
    except ValueError:  # nothing but stop words
        return empty
    k = max(1, min(k, matrix.shape[0] - 1, matrix.shape[1]))
    model = _scikit_learn("decomposition").NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=400)
    model.fit(matrix)
    vocabulary = vectorizer.get_feature_names_out()
    terms = [[str(vocabulary[i]) for i in np.argsort(component)[::-1][:TERMS_SHOWN]] for component in model.components_]
    assigned, weights = np.full(len(texts), -1), np.zeros(len(texts))
    for start in range(0, len(texts), ASSIGN_BATCH):
        w = model.transform(vectorizer.transform(texts[start:start + ASSIGN_BATCH]))
        best = np.argmax(w, axis=1)
        strength = w[np.arange(len(best)), best]
        assigned[start:start + len(best)] = np.where(strength > 0, best, -1)
        weights[start:start + len(best)] = strength
    return Themes(terms, assigned, weights)
