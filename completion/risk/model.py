"""The trained risk model: features from signals, fitting, calibration and importances. Pure.

Features are the same signals the rules read (fired flag and value per code) plus progress,
expected progress and days enrolled. The estimator is scikit-learn's gradient boosting (or
logistic regression) inside `CalibratedClassifierCV`, so probabilities are calibrated. Artefacts
are joblib bytes; storing and choosing them is `risk_training`'s and `scoring`'s business.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np

from completion.risk.signals import (
    CODES,
    LOW_ENGAGEMENT,
    LOW_ENGAGEMENT_WEEK1,
    LearnerContext,
    SignalResult,
)

ALGORITHMS = ("logistic", "gbm")
# Gradient boosting flags drop-outs earlier and more accurately on both synthetic cohorts
# (docs/risk.md, "Accuracy on synthetic cohorts"); logistic regression stays available as the
# simpler model.
DEFAULT_ALGORITHM = "gbm"
MIN_SAMPLES = 40
MIN_PER_CLASS = 8
TRAINED = "trained"
ENGAGEMENT = (LOW_ENGAGEMENT_WEEK1, LOW_ENGAGEMENT)


class NotEnoughHistory(ValueError):
    """Too few finished learners (or only one outcome) to train on; use the rules."""


def feature_names() -> list[str]:
    names = []
    for code in CODES:
        names += [f"{code}:fired", f"{code}:value"]
    return [*names, "progress", "expected", "gap", "days_enrolled", "engagement_percentile"]


def _clip(value: float | None) -> float:
    if value is None:
        return 0.0
    return max(min(float(value), 1000.0), -1000.0)


def features_of(signals: Sequence[SignalResult], lc: LearnerContext) -> list[float]:
    by_code = {r.code: r for r in signals}
    row: list[float] = []
    for code in CODES:
        r = by_code.get(code)
        row += [1.0 if r is not None and r.fired else 0.0, _clip(r.value if r else None)]
    engagement = next(
        (r.value for r in map(by_code.get, ENGAGEMENT) if r is not None and r.value is not None),
        50.0,
    )
    return [
        *row,
        lc.progress,
        lc.expected,
        lc.expected - lc.progress,
        float(min(lc.days_enrolled, 120)),
        float(engagement),
    ]


def _estimator(algorithm: str) -> Any:
    # scikit-learn is imported where it is used: importing it takes about 2 s, which every
    # web and queue worker would pay at start although only training needs it (a stored
    # model's artefact imports what it needs when it is loaded).
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if algorithm == "gbm":
        base: Any = HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.08, max_leaf_nodes=15, random_state=0
        )
    else:
        base = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))
    return CalibratedClassifierCV(base, method="sigmoid", cv=3)


@dataclass(frozen=True)
class TrainedArtefact:
    algorithm: str
    artefact: bytes
    feature_names: list[str]
    samples: int
    metrics: dict[str, float]
    importances: dict[str, float]  # per signal code (and progress features), summed


def train(
    x: Sequence[Sequence[float]],
    completed: Sequence[bool],
    *,
    algorithm: str = DEFAULT_ALGORITHM,
    seed: int = 0,
) -> TrainedArtefact:
    """Fit a calibrated classifier of completion; hold out a quarter to report its quality."""
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm: {algorithm}")
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(completed, dtype=int)
    positives = int(ya.sum())
    if len(ya) < MIN_SAMPLES or min(positives, len(ya) - positives) < MIN_PER_CLASS:
        raise NotEnoughHistory(
            f"{len(ya)} finished learners ({positives} completed); need {MIN_SAMPLES}+ with "
            f"{MIN_PER_CLASS}+ of each outcome"
        )
    x_tr, x_te, y_tr, y_te = train_test_split(
        xa, ya, test_size=0.25, stratify=ya, random_state=seed
    )
    held_out = _estimator(algorithm).fit(x_tr, y_tr)
    p = held_out.predict_proba(x_te)[:, 1]
    metrics = {
        "holdout_auc": round(float(roc_auc_score(y_te, p)), 4),
        "holdout_brier": round(float(brier_score_loss(y_te, p)), 4),
        "samples": float(len(ya)),
        "completed_share": round(positives / len(ya), 4),
    }
    model = _estimator(algorithm).fit(xa, ya)
    perm = permutation_importance(
        held_out, x_te, y_te, n_repeats=3, random_state=seed, scoring="roc_auc"
    )
    importances = _by_code(feature_names(), perm.importances_mean)
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return TrainedArtefact(
        algorithm, buffer.getvalue(), feature_names(), len(ya), metrics, importances
    )


def _by_code(names: Sequence[str], values: Sequence[float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in zip(names, values, strict=True):
        key = name.split(":")[0]
        out[key] = round(out.get(key, 0.0) + float(value), 5)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


class TrainedPredictor:
    """A stored model as the scorer's `Predictor`: probabilities and a reason order."""

    name: str
    order: Mapping[str, float]

    def __init__(self, artefact: bytes, importances: Mapping[str, float], names: Sequence[str]):
        if list(names) != feature_names():
            raise NotEnoughHistory("the stored model was trained on other features; retrain it")
        self.model = joblib.load(io.BytesIO(artefact))
        self.order = dict(importances)
        self.name = TRAINED

    def predict(
        self, rows: Sequence[tuple[tuple[SignalResult, ...], LearnerContext]]
    ) -> list[float]:
        if not rows:
            return []
        x = np.asarray([features_of(sig, lc) for sig, lc in rows], dtype=float)
        return [float(p) for p in self.model.predict_proba(x)[:, 1]]


# --- the event-stream model ------------------------------------------------------------------

EVENTS = "events"
# Tiers from the calibrated probability of not completing: red when it is at least RED_DROP, so
# that (if calibrated) at least that share of the red tier does not complete; yellow from
# YELLOW_DROP. Fixed, not tuned to any course or split.
RED_DROP = 0.7
YELLOW_DROP = 0.4
MIN_CONTRIBUTION = 0.15  # in log-odds: smaller pushes are not worth a reason


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))


def train_events(
    x: Sequence[Sequence[float]],
    dropped: Sequence[bool],
    groups: Sequence[int],
    *,
    names: Sequence[str],
    about: Mapping[str, object],
    seed: int = 0,
) -> TrainedArtefact:
    """An L2 logistic regression of not completing on event features, with Platt calibration
    fitted on out-of-fold scores (folds by learner: a learner's snapshots at several cut-offs
    never sit on both sides). `about` (courses, span, cut-offs) is kept with the metrics."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler

    xa = np.asarray(x, dtype=float)
    ya = np.asarray(dropped, dtype=int)
    ga = np.asarray(groups)
    positives = int(ya.sum())
    if len(ya) < MIN_SAMPLES or min(positives, len(ya) - positives) < MIN_PER_CLASS:
        raise NotEnoughHistory(
            f"{len(ya)} snapshots of finished learners ({positives} did not complete); need "
            f"{MIN_SAMPLES}+ with {MIN_PER_CLASS}+ of each outcome"
        )

    def fit(xs: np.ndarray, ys: np.ndarray) -> tuple[Any, Any]:
        scaler = StandardScaler().fit(xs)
        lr = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
        return scaler, lr.fit(scaler.transform(xs), ys)

    folds = min(5, len(set(ga.tolist())))
    oof = np.zeros(len(ya))
    for train_at, test_at in GroupKFold(n_splits=folds).split(xa, ya, ga):
        scaler, lr = fit(xa[train_at], ya[train_at])
        oof[test_at] = lr.decision_function(scaler.transform(xa[test_at]))
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(oof.reshape(-1, 1), ya)
    calibrated = platt.predict_proba(oof.reshape(-1, 1))[:, 1]
    scaler, lr = fit(xa, ya)
    metrics: dict[str, Any] = {
        "cv_auc": round(float(roc_auc_score(ya, calibrated)), 4),
        "cv_brier": round(float(brier_score_loss(ya, calibrated)), 4),
        "samples": float(len(ya)),
        "learners": float(len(set(ga.tolist()))),
        "completed_share": round(1 - positives / len(ya), 4),
        **about,
    }
    importances = {
        n: round(float(c), 5) for n, c in zip(names, lr.coef_[0], strict=True)
    }  # per standard deviation, towards not completing
    buffer = io.BytesIO()
    joblib.dump(
        {
            "scaler": scaler,
            "lr": lr,
            "platt": (float(platt.coef_[0][0]), float(platt.intercept_[0])),
        },
        buffer,
    )
    return TrainedArtefact(EVENTS, buffer.getvalue(), list(names), len(ya), metrics, importances)


class EventPredictor:
    """A stored event-stream model: calibrated probabilities of completing and, per learner,
    the features that push them most towards not completing, in plain words."""

    def __init__(self, artefact: bytes, names: Sequence[str]) -> None:
        from completion.risk.features import FEATURES

        if tuple(names) != FEATURES:
            raise NotEnoughHistory("the stored model was trained on other features; retrain it")
        parts = joblib.load(io.BytesIO(artefact))
        self.scaler, self.lr = parts["scaler"], parts["lr"]
        self.a, self.b = parts["platt"]
        self.names = tuple(names)
        self.name = TRAINED

    def drop_probabilities(self, x: Sequence[Sequence[float]]) -> np.ndarray:
        z = self.scaler.transform(np.asarray(x, dtype=float))
        return _sigmoid(self.a * self.lr.decision_function(z) + self.b)

    def explain(
        self, x: Sequence[Sequence[float]], *, limit: int = 3
    ) -> list[tuple[float, tuple[str, ...]]]:
        """(probability of completing, reasons) per row."""
        from completion.risk.features import reason_of

        if not len(x):
            return []
        xa = np.asarray(x, dtype=float)
        z = self.scaler.transform(xa)
        p_drop = _sigmoid(self.a * self.lr.decision_function(z) + self.b)
        # Each feature's push towards not completing, in calibrated log-odds.
        pushes = z * self.lr.coef_[0] * self.a
        out = []
        for row, push, p in zip(xa, pushes, p_drop, strict=True):
            ranked = np.argsort(-push)[:limit]
            reasons = tuple(
                reason_of(self.names[k], float(row[k]))
                for k in ranked
                if push[k] >= MIN_CONTRIBUTION
            )
            out.append((round(1.0 - float(p), 4), reasons))
        return out


def tier_of_drop(p_complete: float) -> str:
    drop = 1.0 - p_complete
    if drop >= RED_DROP:
        return "red"
    return "yellow" if drop >= YELLOW_DROP else "green"
