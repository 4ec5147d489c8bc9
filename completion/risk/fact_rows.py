"""A course's event aggregates as columns: the rows behind every learner's facts. Pure.

The two aggregates `scoring` reads (per learner and day, per learner and item) come back as
`FactRows`: numpy columns, one row per group. Rows of the same shape from different slices of
the events merge by re-aggregating their keys, which is how a stored snapshot plus the events
stored since it give the same facts as reading everything again (`facts_snapshot`). Item rows
keep raw attempt, pass and fail counts because `attempts_of` cannot be merged after the fact.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import numpy as np

from completion.risk.facts import Days, ItemFacts, LearnerFacts


class Enrollee(Protocol):
    """Whose facts to build (`scoring.Enrolment`)."""

    @property
    def membership_id(self) -> int: ...
    @property
    def person_id(self) -> int: ...
    @property
    def enrolled_at(self) -> datetime: ...


# (name, dtype); the first two of each are the group's key. NaN stands for SQL NULL.
DAY_COLUMNS = (
    ("person", np.int64),
    ("day", np.int64),  # proleptic ordinal (date.toordinal)
    ("events", np.int64),
    ("seconds", np.float64),
    ("posts", np.int64),
    ("errors", np.int64),
    ("actions", np.int64),  # the events' counts, 1 for an event without one
)
ITEM_COLUMNS = (
    ("person", np.int64),
    ("item", np.int64),
    ("first_at", np.float64),  # epoch seconds
    ("done_at", np.float64),
    ("consumed", np.int64),
    ("submitted", np.int64),
    ("attempted", np.int64),
    ("passed", np.int64),
    ("failed", np.int64),
    ("best", np.float64),
    ("seconds", np.float64),
)
# How each column merges when two slices hold the same key.
ITEM_MERGE = {"first_at": np.fmin, "done_at": np.fmin, "best": np.fmax}

Columns = dict[str, np.ndarray]
Table = Sequence[Sequence[Any]] | np.ndarray  # rows of plain values, or a float table of them


def _columns(spec: Sequence[tuple[str, Any]], rows: Table) -> Columns:
    if len(rows) == 0:
        return {name: np.empty(0, dtype) for name, dtype in spec}
    # One conversion of the whole table (None becomes NaN), then a cast per column: ids and
    # counts are exact in a double far beyond any table's size (2**53).
    table = np.asarray(rows, dtype=np.float64)
    return {name: table[:, i].astype(dtype) for i, (name, dtype) in enumerate(spec)}


def _merge(
    spec: Sequence[tuple[str, Any]], a: Columns, b: Columns, special: dict[str, Any]
) -> Columns:
    """Both slices' rows, sorted, one row per key. Keys in both are re-aggregated; the rest
    are inserted into `a` where they sort. A day's merge adds a few thousand rows to a
    snapshot's millions: this writes each column once, where concatenating and sorting both
    made two more copies of everything (and sorted millions of rows a day)."""
    if not len(b["person"]):
        return a
    if not len(a["person"]):
        return b
    key_a, key_b = spec[0][0], spec[1][0]
    ka, kb = _packed(a[key_a], a[key_b]), _packed(b[key_a], b[key_b])
    if ka is None or kb is None or not (_increasing(ka) and _increasing(kb)):
        # Ids past 2**31, or not one row a key in order (aggregates always are).
        return _merge_by_sorting(spec, a, b, special)
    at = np.searchsorted(ka, kb)
    shared = at < len(ka)
    shared[shared] = ka[at[shared]] == kb[shared]
    new = ~shared
    # A row of `a` moves down by the number of new rows inserted before it.
    moved = at[shared] + np.searchsorted(at[new], at[shared], side="right")
    merged = {}
    for name, _ in spec:
        column = np.insert(a[name], at[new], b[name][new])
        if name not in (key_a, key_b):
            ufunc = special.get(name, np.add)
            column[moved] = ufunc(column[moved], b[name][shared])
        merged[name] = column
    return merged


def _packed(high: np.ndarray, low: np.ndarray) -> np.ndarray | None:
    """One int64 per key that sorts as (high, low) does; None when a value is outside
    0..2**31 (ids that large are read the slow way)."""
    if (len(high) and (high.min() < 0 or high.max() >= 2**31)) or (
        len(low) and (low.min() < 0 or low.max() >= 2**31)
    ):
        return None
    return (high.astype(np.int64) << 32) | low.astype(np.int64)


def _increasing(keys: np.ndarray) -> bool:
    return bool((keys[1:] > keys[:-1]).all())


def _merge_by_sorting(
    spec: Sequence[tuple[str, Any]], a: Columns, b: Columns, special: dict[str, Any]
) -> Columns:
    both = {name: np.concatenate([a[name], b[name]]) for name, _ in spec}
    key_a, key_b = spec[0][0], spec[1][0]
    order = np.lexsort((both[key_b], both[key_a]))
    both = {name: column[order] for name, column in both.items()}
    new_group = np.ones(len(order), bool)
    new_group[1:] = (np.diff(both[key_a]) != 0) | (np.diff(both[key_b]) != 0)
    starts = np.flatnonzero(new_group)
    merged = {key_a: both[key_a][starts], key_b: both[key_b][starts]}
    for name, _ in spec[2:]:
        ufunc = special.get(name, np.add)
        merged[name] = ufunc.reduceat(both[name], starts)
    return merged


def _by_person(person: np.ndarray) -> dict[int, tuple[int, int]]:
    """Row ranges per person (rows are sorted by person)."""
    if not len(person):
        return {}
    starts = np.flatnonzero(np.r_[True, np.diff(person) != 0])
    ends = np.r_[starts[1:], len(person)]
    return dict(
        zip(person[starts].tolist(), zip(starts.tolist(), ends.tolist(), strict=True), strict=True)
    )


def _sorted(spec: Sequence[tuple[str, Any]], columns: Columns) -> Columns:
    key_a, key_b = spec[0][0], spec[1][0]
    order = np.lexsort((columns[key_b], columns[key_a]))
    return {name: column[order] for name, column in columns.items()}


def _narrowed(column: np.ndarray) -> np.ndarray:
    if column.dtype != np.int64 or not len(column):
        return column
    low, high = int(column.min()), int(column.max())
    for narrow in (np.int16, np.int32):
        info = np.iinfo(narrow)
        if info.min <= low and high <= info.max:
            return column.astype(narrow)
    return column


@dataclass(frozen=True)
class FactRows:
    days: Columns
    items: Columns

    @classmethod
    def from_rows(cls, day_rows: Table, item_rows: Table) -> FactRows:
        """From rows in `DAY_COLUMNS` / `ITEM_COLUMNS` order (tuples, or a 2-D float array
        with NaN for NULL), any row order."""
        return cls(
            _sorted(DAY_COLUMNS, _columns(DAY_COLUMNS, day_rows)),
            _sorted(ITEM_COLUMNS, _columns(ITEM_COLUMNS, item_rows)),
        )

    @property
    def events(self) -> int:
        """How many events the rows aggregate."""
        return int(self.days["events"].sum())

    @property
    def item_ids(self) -> frozenset[int]:
        return frozenset(np.unique(self.items["item"]).tolist())

    def merged(self, other: FactRows) -> FactRows:
        """The rows of both slices of events together (the slices must not overlap)."""
        return FactRows(
            _merge(DAY_COLUMNS, self.days, other.days, {}),
            _merge(ITEM_COLUMNS, self.items, other.items, ITEM_MERGE),
        )

    def to_bytes(self) -> bytes:
        """An .npz; whole-number columns in the narrowest type their values fit. Not
        compressed: zlib took 0.34 s a course to save a third of 9 MB."""
        out = io.BytesIO()
        columns = {f"d_{k}": _narrowed(v) for k, v in self.days.items()}
        columns |= {f"i_{k}": _narrowed(v) for k, v in self.items.items()}
        np.savez(out, **columns)  # type: ignore[arg-type]
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FactRows:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            return cls(
                {name: stored[f"d_{name}"].astype(t) for name, t in DAY_COLUMNS},
                {name: stored[f"i_{name}"].astype(t) for name, t in ITEM_COLUMNS},
            )

    @staticmethod
    def _of(columns: Columns, people: Sequence[Enrollee]) -> Columns:
        """The rows of `people` only (all rows when they hold no one else)."""
        wanted = np.fromiter((p.person_id for p in people), np.int64, len(people))
        keep = np.isin(columns["person"], wanted)
        if keep.all():
            return columns
        return {name: column[keep] for name, column in columns.items()}

    def facts(self, people: Iterable[Enrollee]) -> list[LearnerFacts]:
        """Each enrolment's facts, in the order given (no rows: no activity)."""
        people = list(people)
        d, i = self._of(self.days, people), self._of(self.items, people)
        # A course's rows span a few hundred distinct days: build each date once.
        ordinals = d["day"].tolist()
        day_of = {n: date.fromordinal(n) for n in set(ordinals)}
        dates = tuple(map(day_of.__getitem__, ordinals))
        events, seconds = tuple(d["events"].tolist()), tuple(d["seconds"].tolist())
        posts, errors = tuple(d["posts"].tolist()), tuple(d["errors"].tolist())
        actions = tuple(d["actions"].tolist())
        # All these people's item rows at once, column by column, not a call per row.
        item_ids = i["item"].tolist()
        items = list(
            map(
                ItemFacts,
                item_ids,
                i["first_at"].tolist(),
                [None if e != e else e for e in i["done_at"].tolist()],  # NaN: never done
                (i["consumed"] > 0).tolist(),
                (i["submitted"] > 0).tolist(),
                # attempts_of, a column at a time
                np.maximum(i["attempted"], i["passed"] + i["failed"]).tolist(),
                i["failed"].tolist(),
                [None if b != b else b for b in i["best"].tolist()],
                i["seconds"].tolist(),
            )
        )
        day_ranges, item_ranges = _by_person(d["person"]), _by_person(i["person"])
        out = []
        for p in people:
            a, b = day_ranges.get(p.person_id, (0, 0))
            c, e = item_ranges.get(p.person_id, (0, 0))
            out.append(
                LearnerFacts(
                    p.membership_id,
                    p.person_id,
                    p.enrolled_at,
                    Days(
                        dates[a:b],
                        events[a:b],
                        seconds[a:b],
                        posts[a:b],
                        errors[a:b],
                        actions[a:b],
                    ),
                    dict(zip(item_ids[c:e], items[c:e], strict=True)),
                )
            )
        return out
