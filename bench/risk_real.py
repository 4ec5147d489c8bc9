"""Benchmark: risk on real learners' histories (OULAD AAA 2013J and BBB 2013B), through the
public inputs only.

The OULAD tables (../shared/data/oulad-train/, CC BY 4.0) are converted to the documented CSV
formats in a temporary folder (people and enrolments, items, events with counts, outcomes) and
loaded with `manage.py import_events`; criteria are set with `update_criteria` (fixed dates: the
module's start and length). Then, at days 0, 7, 14, 30, 60 and 90 after the start, for learners
still enrolled who had not completed (at risk = Withdrawn or Fail):

- cross-validation across learners (5 folds by learner, both presentations pooled): the rules,
  the trained event model and the plain logistic baseline, each scored on learners it was not
  fitted on; red precision and the tier mix of the trained model;
- train on one presentation with `train_risk_model --algorithm events`, score the other with
  `evaluate_risk --cutoffs ... --model trained --model-id` (both ways), printed as it prints.

It prints the events import rate beside the rate of bench/import_events.py's synthetic file of
the same size imported in the same run. Goals are printed beside the figures.

    .venv/bin/python bench/risk_real.py [--data ../shared/data/oulad-train] [--smoke]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

from _setup import ROOT, bench_deployment, django_on_postgres, parse_with_smoke

CUTOFFS = (0, 7, 14, 30, 60, 90)
DATA = "shared/data/oulad-train"  # beside the repository (or its worktrees' folder)
# The OU's presentations start in February (B) and October (J); the day itself is not given.
STARTS = {"B": (2, 1), "J": (10, 1)}
GOALS = {14: 0.72, 30: 0.80, 90: 0.85}
KIND = {"forumng": "forum", "quiz": "assessment", "resource": "page", "oucontent": "page",
        "url": "link", "page": "page", "subpage": "page", "homepage": "page"}  # fmt: skip


def table(folder: Path, name: str) -> list[dict[str, str]]:
    with gzip.open(folder / f"{name}.csv.gz", "rt", newline="") as f:
        return list(csv.DictReader(f))


def key(module: str, presentation: str) -> str:
    return f"{module}-{presentation}"


def calendar(folder: Path) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], date]]:
    """Each presentation's length (days) and start date (e.g. 2013J -> 2013-10-01)."""
    courses = {
        (r["code_module"], r["code_presentation"]): int(r["module_presentation_length"])
        for r in table(folder, "courses")
    }
    return courses, {k: date(int(k[1][:4]), *STARTS[k[1][4]]) for k in courses}


def convert(folder: Path, out: Path, smoke: bool) -> dict[str, Any]:
    """The OULAD tables as Finishline's documented CSV files; returns the file paths."""
    courses, start = calendar(folder)
    students = table(folder, "studentInfo")
    if smoke:
        per: dict[tuple[str, str], int] = defaultdict(int)
        kept = []
        for s in students:
            k = (s["code_module"], s["code_presentation"])
            if per[k] < 60:
                per[k] += 1
                kept.append(s)
        students = kept
    wanted = {(s["code_module"], s["code_presentation"], s["id_student"]) for s in students}
    reg = {
        (r["code_module"], r["code_presentation"], r["id_student"]): r
        for r in table(folder, "studentRegistration")
    }
    paths = {n: out / f"{n}.csv" for n in ("people", "items", "events", "outcomes")}
    with paths["people"].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["learner_id", "course_id", "course_title", "role", "enrolled_at",
                    "withdrawn_at", "prior_attempts", "credits"])  # fmt: skip
        for s in students:
            k = (s["code_module"], s["code_presentation"])
            r = reg.get((*k, s["id_student"]), {})
            registered = r.get("date_registration") or "0"
            left = r.get("date_unregistration") or ""
            enrolled = start[k] + timedelta(days=_int(registered))
            withdrawn = start[k] + timedelta(days=_int(left)) if left else None
            if withdrawn is not None and withdrawn < enrolled:
                withdrawn = enrolled
            w.writerow([s["id_student"], key(*k), key(*k), "learner", enrolled.isoformat(),
                        withdrawn.isoformat() if withdrawn else "", s["num_of_prev_attempts"],
                        s["studied_credits"]])  # fmt: skip
    assessments = table(folder, "assessments")
    due_of = {}
    with paths["items"].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["course_id", "item_id", "item_type", "item_title", "due_at", "weight",
                    "pass_mark", "section"])  # fmt: skip
        for a in assessments:
            k = (a["code_module"], a["code_presentation"])
            due = start[k] + timedelta(days=_int(a["date"])) if a["date"] else None
            due_of[a["id_assessment"]] = k
            kind = a["assessment_type"]
            w.writerow([key(*k), f"assessment-{a['id_assessment']}", "assessment",
                        f"{kind} {a['id_assessment']}", due.isoformat() if due else "",
                        a["weight"], "0.4", kind])  # fmt: skip
        for v in table(folder, "vle"):
            k = (v["code_module"], v["code_presentation"])
            w.writerow([key(*k), f"vle-{v['id_site']}", KIND.get(v["activity_type"], "other"),
                        v["activity_type"], "", "", "", v["activity_type"]])  # fmt: skip
    events = 0
    with paths["events"].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["learner_id", "course_id", "item_id", "verb", "timestamp", "source_id",
                    "count", "score"])  # fmt: skip
        for r in table(folder, "studentAssessment"):
            k = due_of.get(r["id_assessment"])
            if k is None or (*k, r["id_student"]) not in wanted or not r["date_submitted"]:
                continue
            when = start[k] + timedelta(days=_int(r["date_submitted"]))
            score = f"{float(r['score']) / 100:.4f}" if r["score"] else ""
            w.writerow([r["id_student"], key(*k), f"assessment-{r['id_assessment']}",
                        "submitted", f"{when.isoformat()}T18:00:00Z",
                        f"sub-{r['id_assessment']}-{r['id_student']}", "", score])  # fmt: skip
            events += 1
        with gzip.open(folder / "studentVle.csv.gz", "rt", newline="") as g:
            for n, r in enumerate(csv.DictReader(g)):
                k = (r["code_module"], r["code_presentation"])
                if (*k, r["id_student"]) not in wanted:
                    continue
                when = start[k] + timedelta(days=_int(r["date"]))
                stamp = f"{when.isoformat()}T12:00:00Z"
                w.writerow([r["id_student"], key(*k), f"vle-{r['id_site']}", "viewed", stamp,
                            f"vle-{n}", r["sum_click"], ""])  # fmt: skip
                events += 1
    results = {"Pass": "passed", "Distinction": "passed", "Fail": "failed",
               "Withdrawn": "withdrawn"}  # fmt: skip
    with paths["outcomes"].open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["learner_id", "course_id", "result", "decided_on", "source"])
        for s in students:
            k = (s["code_module"], s["code_presentation"])
            r = reg.get((*k, s["id_student"]), {})
            left = r.get("date_unregistration") or ""
            on = start[k] + timedelta(days=_int(left) if left else courses[k])
            w.writerow([s["id_student"], key(*k), results[s["final_result"]], on.isoformat(),
                        "import"])  # fmt: skip
    return {"paths": paths, "events": events}


def command(*args: str, **options: Any) -> str:
    from django.core.management import call_command

    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue().strip()


def import_rate(deployment: Any, rows: int, folder: Path) -> float:
    """bench/import_events.py's synthetic file of `rows` events, imported the same way."""
    from import_events import write_csv

    from lti_tool.models import Course, Membership, Person

    course, _ = Course.objects.get_or_create(deployment=deployment, context_id="bench-course")
    learners = 2000
    if Person.objects.filter(deployment=deployment, sub__startswith="bench-").count() < learners:
        people = Person.objects.bulk_create(
            [Person(deployment=deployment, sub=f"bench-{n}") for n in range(learners)],
            ignore_conflicts=True,
        )
        people = list(Person.objects.filter(deployment=deployment, sub__startswith="bench-"))
        now = course.created_at
        Membership.objects.bulk_create(
            [Membership(course=course, person=p, role="learner", enrolled_at=now,
                        status_changed_at=now) for p in people],
            ignore_conflicts=True,
        )  # fmt: skip
    path = folder / "synthetic.csv"
    write_csv(path, rows, learners, f"real{int(time.time())}")
    t = time.perf_counter()
    command("import_events", str(path), "--deployment", deployment.deployment_id)
    return rows / (time.perf_counter() - t)


def cross_validated(rows: list[Any], folds: int = 5) -> tuple[list[float], list[str]]:
    """Out-of-fold P(not completing) and tier of the event model, folds by learner."""
    from completion.risk.backtest import matrix
    from completion.risk.features import FEATURES
    from completion.risk.model import EventPredictor, tier_of_drop, train_events

    learners = sorted({(s.course_id, s.membership_id) for s in rows})
    fold_of = {k: n % folds for n, k in enumerate(learners)}
    p = [0.0] * len(rows)
    tiers = [""] * len(rows)
    for f in range(folds):
        test = [k for k, s in enumerate(rows) if fold_of[(s.course_id, s.membership_id)] == f]
        train = [s for s in rows if fold_of[(s.course_id, s.membership_id)] != f]
        art = train_events(
            matrix(train),
            [s.dropped for s in train],
            [s.membership_id for s in train],
            names=FEATURES,
            about={},
        )
        model = EventPredictor(art.artefact, art.feature_names)
        for k, (p_complete, _) in zip(
            test, model.explain(matrix([rows[k] for k in test])), strict=True
        ):
            p[k] = 1.0 - p_complete
            tiers[k] = tier_of_drop(p_complete)
    return p, tiers


def load(data: Path, deployment: Any, smoke: bool, started: float) -> None:
    """Convert and import the presentations; print the import rates."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        made = convert(data, folder, smoke)
        print(f"converted OULAD to the documented CSVs in {time.perf_counter() - started:.1f} s")
        paths = made["paths"]
        for kind in ("people", "items"):
            print(command("import_events", str(paths[kind]), "--deployment",
                          deployment.deployment_id, "--kind", kind))  # fmt: skip
        t = time.perf_counter()
        print(command("import_events", str(paths["events"]), "--deployment",
                      deployment.deployment_id))  # fmt: skip
        real_rate = made["events"] / (time.perf_counter() - t)
        print(command("import_events", str(paths["outcomes"]), "--deployment",
                      deployment.deployment_id, "--kind", "outcomes"))  # fmt: skip
        synthetic_rate = import_rate(deployment, made["events"], folder)
    ratio = synthetic_rate / real_rate
    print(
        f"import: OULAD events {real_rate:,.0f} rows/s; bench/import_events.py's synthetic "
        f"file of the same size {synthetic_rate:,.0f} rows/s; {ratio:.2f}x slower "
        f"(goal: within 2x) {'MET' if ratio <= 2 else 'NOT MET'}"
    )


def across(rows: list[Any], courses: list[Any]) -> None:
    """Each presentation scored by the event model and the baseline both fitted on the other
    one alone (neither has seen the scored presentation); the rules need no fitting."""
    from completion.risk import backtest, metrics
    from completion.risk.backtest import matrix
    from completion.risk.features import FEATURES
    from completion.risk.model import EventPredictor, NotEnoughHistory, train_events

    print("\neach presentation scored by models fitted on the other (AUC rules/model/base):")
    print(f"{'day':>4}  " + "  ".join(f"{c.context_id + ' scored':>22}" for c in courses))
    scored: dict[int, tuple[list[Any], list[float], list[float] | None]] = {}
    for course in courses:
        test = [s for s in rows if s.course_id == course.pk]
        train = [s for s in rows if s.course_id != course.pk]
        try:
            art = train_events(
                matrix(train),
                [s.dropped for s in train],
                [s.membership_id for s in train],
                names=FEATURES,
                about={},
            )
        except NotEnoughHistory:  # a smoke subset may be too small
            continue
        model = EventPredictor(art.artefact, art.feature_names)
        p = [1.0 - q for q, _ in model.explain(matrix(test))]
        scored[course.pk] = (test, p, backtest.baseline_probabilities(train, test))
    for c in CUTOFFS:
        cells = []
        for course in courses:
            if course.pk not in scored:
                cells.append(f"{'-':>22}")
                continue
            test, p, base = scored[course.pk]
            at = [k for k, s in enumerate(test) if s.cutoff == c]
            y = [test[k].dropped for k in at]
            rules = metrics.auc(y, [1.0 - test[k].score.risk.probability for k in at])
            model_auc = metrics.auc(y, [p[k] for k in at])
            base_auc = metrics.auc(y, [base[k] for k in at]) if base else None
            cells.append(f"{_f(rules)}/{_f(model_auc).strip()}/{_f(base_auc).strip()}".rjust(22))
        print(f"{c:>4}  " + "  ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser()
    found = [p for p in (ROOT.parent, ROOT.parent.parent) if (p / DATA).is_dir()]
    parser.add_argument("--data", type=Path, default=(found or [ROOT.parent])[0] / DATA)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the presentations an earlier run imported into the same database (skips "
        "the conversion, the imports and their rates)",
    )
    args = parse_with_smoke(parser)
    django_on_postgres("finishline_bench_risk_real")

    from django.core.management import CommandError

    from completion.risk import backtest, metrics
    from completion.risk.services import update_criteria
    from lti_tool.models import Course

    deployment = bench_deployment()
    started = time.perf_counter()
    lengths, starts = calendar(args.data)
    imported = Course.objects.filter(
        deployment=deployment, context_id__in=[key(*k) for k in lengths]
    ).count()
    if args.reuse and imported == len(lengths):
        print(f"reusing the {imported} presentations imported earlier (no import rates)")
    else:
        load(args.data, deployment, args.smoke, started)
    courses = []
    for (module, presentation), length in sorted(lengths.items()):
        course = Course.objects.get(deployment=deployment, context_id=key(module, presentation))
        begin = starts[(module, presentation)]
        update_criteria(
            course=course,
            values={"timeline": "absolute", "starts_on": begin,
                    "ends_on": begin + timedelta(days=length)},
            by="bench",
        )  # fmt: skip
        courses.append(course)

    t = time.perf_counter()
    rows = [s for c in courses for s in backtest.samples(c, CUTOFFS)]
    print(f"{len(rows)} learner snapshots at days {CUTOFFS} ({time.perf_counter() - t:.1f} s)")
    p_model, tiers = cross_validated(rows)
    p_base = backtest.cross_validated_baseline(rows) or [0.5] * len(rows)
    p_rules = [1.0 - s.score.risk.probability for s in rows]
    print("\ncross-validation across learners (5 folds by learner, both presentations):")
    print(f"{'day':>4} {'n':>5} {'drop':>5} {'rules':>6} {'model':>6} {'base':>6} "
          f"{'red P':>6} {'tiers r/y/g':>13}  goals")  # fmt: skip
    for c in CUTOFFS:
        at = [k for k, s in enumerate(rows) if s.cutoff == c]
        y = [rows[k].dropped for k in at]
        rules = metrics.auc(y, [p_rules[k] for k in at])
        model = metrics.auc(y, [p_model[k] for k in at])
        base = metrics.auc(y, [p_base[k] for k in at])
        red = [k for k in at if tiers[k] == "red"]
        red_p = sum(rows[k].dropped for k in red) / len(red) if red else None
        mix = [sum(1 for k in at if tiers[k] == t) for t in ("red", "yellow", "green")]
        goals = []
        if model is not None and base is not None:
            goals.append(f"model>=base+0.03 {'met' if model >= base + 0.03 else 'NOT met'}")
        if rules is not None and base is not None:
            goals.append(f"rules within 0.03 {'met' if rules >= base - 0.03 else 'NOT met'}")
        if c in GOALS and model is not None:
            goals.append(f"AUC>={GOALS[c]} {'met' if model >= GOALS[c] else 'NOT met'}")
        if c >= 30:
            goals.append(f"red P>=0.70 {'met' if red_p and red_p >= 0.7 else 'NOT met'}")
        if at:
            goals.append("one tier NOT met" if max(mix) == len(at) else "mixed tiers met")
        print(f"{c:>4} {len(at):>5} {sum(y):>5} {_f(rules)} {_f(model)} {_f(base)} "
              f"{_f(red_p)} {'/'.join(map(str, mix)):>13}  {'; '.join(goals)}")  # fmt: skip

    across(rows, courses)
    print("\ntrain on one presentation, score the other (train_risk_model, evaluate_risk):")
    for train, test in ((courses[0], courses[1]), (courses[1], courses[0])):
        try:
            trained = command("train_risk_model", "--course", str(train.pk),
                              "--algorithm", "events")  # fmt: skip
        except CommandError as exc:  # a smoke subset may be too small
            print(f"{train.context_id}: not trained ({exc})")
            continue
        model_id = trained.split()[2]
        print(f"trained on {train.context_id}: {trained.splitlines()[0][:160]}")
        print(f"scored on {test.context_id}:")
        cutoffs = list(map(str, CUTOFFS))
        print(command("evaluate_risk", "--course", str(test.pk), "--cutoffs", *cutoffs,
                      "--model", "trained", "--model-id", model_id))  # fmt: skip
    print(f"\n({time.perf_counter() - started:.0f} s in all)")


def _int(text: str) -> int:
    return round(float(text))


def _f(value: float | None) -> str:
    return f"{value:>6.3f}" if value is not None else f"{'-':>6}"


if __name__ == "__main__":
    main()
