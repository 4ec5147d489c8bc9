"""How well risk predicted drop-out: AUC, accuracy, red-tier precision and recall, lead time.

Pure. The positive class throughout is "dropped out"; a prediction of drop-out is a completion
probability under 0.5 (accuracy, AUC) or the red tier (precision, recall, lead time).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import date

from sklearn.metrics import accuracy_score, precision_score, recall_score, roc_auc_score


def classification_report(
    dropped: Sequence[bool], p_complete: Sequence[float], red: Sequence[bool]
) -> dict[str, float | int | None]:
    """AUC and accuracy of the probability, precision and recall of the red tier."""
    n = len(dropped)
    if n == 0:
        return {
            "learners": 0,
            "dropped": 0,
            "auc": None,
            "accuracy": None,
            "red_precision": None,
            "red_recall": None,
            "red": 0,
        }
    y = [int(d) for d in dropped]
    p_drop = [1.0 - p for p in p_complete]
    predicted = [int(p < 0.5) for p in p_complete]
    flagged = [int(r) for r in red]
    both = 0 < sum(y) < n
    return {
        "learners": n,
        "dropped": sum(y),
        "auc": round(float(roc_auc_score(y, p_drop)), 4) if both else None,
        "accuracy": round(float(accuracy_score(y, predicted)), 4),
        "red": sum(flagged),
        "red_precision": round(float(precision_score(y, flagged, zero_division=0)), 4)
        if sum(flagged)
        else None,
        "red_recall": round(float(recall_score(y, flagged, zero_division=0)), 4)
        if sum(y)
        else None,
    }


def lead_times(
    first_red: Mapping[int, date | None], last_active: Mapping[int, date | None]
) -> dict[int, int | None]:
    """Days from the first red flag to a drop-out's last activity (None: never flagged in time).

    A flag raised after the last activity still counts, as a negative lead (flagged late).
    """
    out: dict[int, int | None] = {}
    for key, last in last_active.items():
        red = first_red.get(key)
        if red is None or last is None:
            out[key] = None if red is None else 0
        else:
            out[key] = (last - red).days
    return out


def lead_summary(leads: Mapping[int, int | None], *, ahead: int = 14) -> dict[str, float | None]:
    """Share flagged at all, share flagged `ahead`+ days before they stopped, median lead."""
    total = len(leads)
    if total == 0:
        return {
            "dropouts": 0,
            "flagged": None,
            f"flagged_{ahead}d_ahead": None,
            "median_lead_days": None,
        }
    known = [v for v in leads.values() if v is not None]
    return {
        "dropouts": total,
        "flagged": round(len(known) / total, 4),
        f"flagged_{ahead}d_ahead": round(sum(1 for v in known if v >= ahead) / total, 4),
        "median_lead_days": float(statistics.median(known)) if known else None,
    }
