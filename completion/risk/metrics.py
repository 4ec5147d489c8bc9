"""How well risk predicted drop-out: AUC, accuracy, red-tier precision and recall, lead time.

Pure. The positive class throughout is "dropped out"; a prediction of drop-out is a completion
probability under 0.5 (accuracy, AUC) or the red tier (precision, recall, lead time).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

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


def auc(dropped: Sequence[bool], p_drop: Sequence[float]) -> float | None:
    y = [int(d) for d in dropped]
    if not 0 < sum(y) < len(y):
        return None
    return round(float(roc_auc_score(y, p_drop)), 4)


def reliability(
    dropped: Sequence[bool], p_drop: Sequence[float], bins: int = 5
) -> list[tuple[float, float, float, int]]:
    """(from, to, mean predicted, observed share) and count per probability bin."""
    out = []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [
            (p, d) for p, d in zip(p_drop, dropped, strict=True) if lo <= p < hi or p == hi == 1
        ]
        if inside:
            mean = sum(p for p, _ in inside) / len(inside)
            seen = sum(d for _, d in inside) / len(inside)
            out.append((lo, hi, round(mean, 3), round(seen, 3), len(inside)))
    return out  # type: ignore[return-value]


def full_report(
    dropped: Sequence[bool], p_drop: Sequence[float], red: Sequence[bool]
) -> dict[str, object]:
    """ROC AUC, PR AUC, red-tier precision, precision in the top 20%, Brier, reliability."""
    from sklearn.metrics import average_precision_score, brier_score_loss

    y = [int(d) for d in dropped]
    n = len(y)
    both = 0 < sum(y) < n
    flagged = [k for k, r in enumerate(red) if r]
    top = sorted(range(n), key=lambda k: -p_drop[k])[: max(n // 5, 1)] if n else []
    return {
        "learners": n,
        "dropped": sum(y),
        "auc": auc(dropped, p_drop),
        "pr_auc": round(float(average_precision_score(y, p_drop)), 4) if both else None,
        "red": len(flagged),
        "red_precision": round(sum(y[k] for k in flagged) / len(flagged), 4) if flagged else None,
        "precision_top20": round(sum(y[k] for k in top) / len(top), 4) if top else None,
        "brier": round(float(brier_score_loss(y, p_drop)), 4) if n else None,
        "reliability": reliability(dropped, p_drop) if n else [],
    }


def lead_of(
    rows: Sequence[tuple[int, int, bool, bool]],
    last_active: Mapping[int, date | None],
    origin: Mapping[int, date],
) -> dict[str, float | None]:
    """Lead time of the drop-outs among (learner, cut-off, dropped, red) rows: days from the
    first cut-off that flagged them red to their last activity seen."""
    first: dict[int, int] = {}
    dropouts = set()
    for member, cutoff, dropped, red in rows:
        if dropped:
            dropouts.add(member)
            if red and (member not in first or cutoff < first[member]):
                first[member] = cutoff
    leads: dict[int, int | None] = {}
    for member in dropouts:
        last = last_active.get(member)
        if member in first:
            flagged_on = origin[member] + timedelta(days=first[member])
            leads[member] = (last - flagged_on).days if last else 0
        else:
            leads[member] = None
    return lead_summary(leads)
