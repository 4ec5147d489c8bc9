"""Evaluate the risk engine on synthetic cohorts and print the figures in docs/risk.md.

Creates (afresh) a PostgreSQL database, generates a training cohort and a separate evaluation
cohort with different seeds, then runs the real commands:
  manage.py evaluate_risk --course EVAL --at-day 7 14 28             (rules)
  manage.py train_risk_model --course TRAIN
  manage.py evaluate_risk --course EVAL --at-day 7 14 28 --model trained --model-id M
By default the cohorts come from `manage.py generate_cohort` (completion.risk.synthetic: the field's
archetypes, each learner's true outcome recorded); `--generator synthetic_cohort` uses the harder
bench._synthetic_cohort (early drop-outs, and faders as active as completers in week 1).
Usage: .venv/bin/python bench/synthetic_accuracy.py [--smoke] [--learners 600] [--days 84]
           [--generator cohort|synthetic_cohort]
DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/finishline_bench_risk_eval.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from _setup import parse_with_smoke

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/finishline_bench_risk_eval"


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    from completion.risk.model import ALGORITHMS, DEFAULT_ALGORITHM

    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=600)
    parser.add_argument("--days", type=int, default=84)
    parser.add_argument("--algorithm", choices=ALGORITHMS, default=DEFAULT_ALGORITHM)
    parser.add_argument("--generator", choices=["cohort", "synthetic_cohort"], default="cohort")
    args = parse_with_smoke(parser, learners=60, days=28)
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("FINISHLINE_ENV", "demo")  # its own random key, loopback only
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if url.startswith("postgres"):
        recreate_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    from bench._synthetic_cohort import generate
    from lti_tool.models import Deployment, Platform

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    platform = Platform.objects.create(
        issuer="https://synthetic.test",
        client_id="x",
        auth_login_url="https://synthetic.test/a",
        auth_token_url="https://synthetic.test/t",
        jwks_url="https://synthetic.test/j",
    )
    deployment = Deployment.objects.create(platform=platform, deployment_id="synthetic")
    if args.generator == "cohort":
        from lti_tool.models import Course

        train = Course.objects.create(deployment=deployment, context_id="train", title="Train")
        evaluate = Course.objects.create(deployment=deployment, context_id="eval", title="Eval")
        for course, seed in ((train, 1), (evaluate, 2)):
            call_command(
                "generate_cohort",
                course=str(course.pk),
                learners=args.learners,
                days=args.days,
                seed=seed,
                start="2026-01-05",
            )
        from collections import Counter

        from completion.models import Outcome

        eval_counts: object = dict(
            Counter(
                note.split(" (")[0]
                for note in Outcome.objects.filter(membership__course=evaluate).values_list(
                    "note", flat=True
                )
            )
        )
    else:
        train, _train_counts = generate(
            deployment, context_id="train", learners=args.learners, days=args.days, seed=1
        )
        evaluate, eval_counts = generate(
            deployment, context_id="eval", learners=args.learners, days=args.days, seed=2
        )
    print(
        f"generated 2 x {args.learners} learners over {args.days} days "
        f"({time.perf_counter() - started:.1f} s); evaluation archetypes: {eval_counts}"
    )
    print(f"\n$ manage.py evaluate_risk --course {evaluate.pk} --at-day 7 14 28   # rules")
    call_command("evaluate_risk", course=evaluate.pk, at_day=[7, 14, 28])
    print(f"\n$ manage.py train_risk_model --course {train.pk} --algorithm {args.algorithm}")
    call_command("train_risk_model", course=train.pk, algorithm=args.algorithm)
    from completion.models import TrainedRiskModel

    model = TrainedRiskModel.objects.latest("trained_at")
    print(
        f"\n$ manage.py evaluate_risk --course {evaluate.pk} --at-day 7 14 28 "
        f"--model trained --model-id {model.pk}"
    )
    call_command(
        "evaluate_risk", course=evaluate.pk, at_day=[7, 14, 28], model="trained", model_id=model.pk
    )
    print(f"\n(total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
