from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from bench._synthetic_cohort import START, generate
from completion.models import RiskScore, TrainedRiskModel
from completion.risk.evaluation import known_outcomes
from completion.risk.services import update_criteria
from tests.completion.riskdata import make_course

pytestmark = pytest.mark.django_db
DAY14 = timedelta(days=14)


@pytest.fixture
def cohort():
    course, _ = make_course(items=())
    course, _counts = generate(
        course.deployment, context_id="synthetic", learners=60, days=45, seed=3
    )
    return course


def run(*args, **kwargs):
    out = StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_score_risk_scores_a_past_day(cohort):
    as_of = (START + timedelta(days=14)).date()
    output = run("score_risk", as_of=as_of, course=[cohort.pk])
    assert f"course {cohort.pk} as of {as_of}: " in output
    assert RiskScore.objects.filter(course=cohort, as_of=as_of).exists()
    with pytest.raises(CommandError):
        run("score_risk", course=[999999])


def test_evaluate_risk_prints_the_metrics_and_lead_time(cohort):
    output = run("evaluate_risk", course=cohort.pk, at_day=[7, 14])
    assert "AUC" in output
    assert "lead time:" in output
    dropouts = [o for o in known_outcomes(cohort).values() if not o.completed]
    active = [o for o in dropouts if o.last_active_on and o.last_active_on - o.enrolled_on >= DAY14]
    ceiling = len(active) / len(dropouts)
    assert 0 < ceiling < 1
    assert f"at most {round(ceiling, 4):.0%} could be" in output
    lines = [line.split() for line in output.splitlines() if line.strip().startswith(("7 ", "14 "))]
    assert [row[0] for row in lines] == ["7", "14"]
    assert all(row[1] == "rules" for row in lines)


@pytest.mark.parametrize("algorithm", [None, "logistic"], ids=["default (gbm)", "logistic"])
def test_a_trained_model_is_stored_with_importances_and_used_when_chosen(cohort, algorithm):
    output = run(
        "train_risk_model", course=cohort.pk, **({"algorithm": algorithm} if algorithm else {})
    )
    model = TrainedRiskModel.objects.get(course=cohort)
    assert model.algorithm == (algorithm or "gbm")
    assert "holdout_auc" in model.metrics
    assert model.importances
    assert f"trained model {model.pk}" in output
    update_criteria(course=cohort, values={"risk_model": "trained"}, by="teacher")
    run("score_risk", as_of=(START + timedelta(days=10)).date(), course=[cohort.pk])
    used = set(RiskScore.objects.filter(course=cohort).values_list("model_used", flat=True))
    assert "trained" in used
    report = run("evaluate_risk", course=cohort.pk, at_day=[7], model="trained")
    assert "trained" in report


def test_too_little_history_keeps_the_rules():
    course, _ = make_course()
    with pytest.raises(CommandError, match="not enough history"):
        run("train_risk_model", course=course.pk)
