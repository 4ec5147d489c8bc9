"""A learning history comes in through `import_events`: people and enrolments, items, events
with counts, and final outcomes, with no LTI launch."""

from __future__ import annotations

from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from completion.models import Activity, EnrolmentDetail, Item, Outcome
from completion.risk.evaluation import known_outcomes
from completion.risk.scoring import enrolments
from lti_tool.models import Course, Deployment, Membership

pytestmark = pytest.mark.django_db

PEOPLE = """learner_id,course_id,course_title,role,enrolled_at,withdrawn_at,withdrawal_reason,\
prior_attempts,credits
s1,AAA-2013J,AAA,learner,2013-09-20,,,0,60
s2,AAA-2013J,AAA,learner,2013-10-01,2013-11-15,,1,120
t1,AAA-2013J,AAA,instructor,2013-09-01,,,,
"""
ITEMS = """course_id,item_id,item_type,item_title,due_at,weight,pass_mark,section
AAA-2013J,tma-1,assessment,TMA 1,2013-10-20,10,0.4,Block 1
AAA-2013J,page-7,page,Week 1 reading,,,,Block 1
"""
EVENTS = """learner_id,course_id,item_id,verb,timestamp,source_id,count,score,success
s1,AAA-2013J,page-7,viewed,2013-10-02T00:00:00Z,v-1,17,,
s2,AAA-2013J,page-7,viewed,2013-10-02T00:00:00Z,v-2,3,,
s1,AAA-2013J,tma-1,submitted,2013-10-19T00:00:00Z,a-1,,0.78,
"""
OUTCOMES = """learner_id,course_id,result,decided_on
s1,AAA-2013J,passed,2014-01-20
s2,AAA-2013J,withdrawn,2013-11-15
"""


def run(tmp_path, name, text, kind, **more):
    path = tmp_path / name
    path.write_text(text)
    out = StringIO()
    args = ["import_events", str(path), "--deployment", Deployment.objects.get().deployment_id]
    if kind != "events":
        args += ["--kind", kind]
    call_command(*args, stdout=out, **more)
    return out.getvalue()


def test_a_whole_history_imports_with_no_launch(platform, tmp_path):
    assert "3 people rows, 3 new or changed" in run(tmp_path, "p.csv", PEOPLE, "people")
    run(tmp_path, "i.csv", ITEMS, "items")
    run(tmp_path, "e.csv", EVENTS, "events")
    run(tmp_path, "o.csv", OUTCOMES, "outcomes")
    course = Course.objects.get(context_id="AAA-2013J", deployment=Deployment.objects.get())
    s1 = Membership.objects.get(course=course, person__sub="s1")
    s2 = Membership.objects.get(course=course, person__sub="s2")
    assert s2.status == "deleted"
    assert s2.status_changed_at == datetime(2013, 11, 15, tzinfo=UTC)
    assert EnrolmentDetail.objects.get(membership=s2).prior_attempts == 1
    tma = Item.objects.get(course=course, external_id="tma-1")
    assert (tma.kind, tma.weight, tma.pass_mark, tma.section) == ("assessment", 10, 0.4, "Block 1")
    assert tma.due_at == datetime(2013, 10, 20, tzinfo=UTC)
    # Events land in the store, not in pending activity: the people were there first.
    assert sorted(Activity.objects.filter(course=course).values_list("count", flat=True),
                  key=str) == [17, 3, None]  # fmt: skip
    outcomes = {o.membership_id: o for o in Outcome.objects.all()}
    assert outcomes[s1.pk].result == "passed"
    assert outcomes[s1.pk].completed
    assert outcomes[s2.pk].decided_on == date(2013, 11, 15)
    found = known_outcomes(course)
    assert (found[s1.pk].completed, found[s2.pk].completed) == (True, False)
    # The withdrawn learner is on the roster of the days before they left only.
    assert {e.membership_id for e in enrolments(course, date(2013, 11, 14))} == {s1.pk, s2.pk}
    assert {e.membership_id for e in enrolments(course, date(2013, 11, 15))} == {s1.pk}


def test_a_reimport_changes_nothing_and_a_bad_row_stores_nothing(platform, tmp_path):
    run(tmp_path, "p.csv", PEOPLE, "people")
    assert "0 new or changed, 3 unchanged" in run(tmp_path, "p.csv", PEOPLE, "people")
    bad = OUTCOMES + "s1,AAA-2013J,graduated,2014-01-20\n"
    with pytest.raises(CommandError, match="line 4: result 'graduated'"):
        run(tmp_path, "o.csv", bad, "outcomes")
    assert not Outcome.objects.exists()
    with pytest.raises(CommandError, match="name no enrolment"):
        run(tmp_path, "o.csv", OUTCOMES + "nobody,AAA-2013J,failed,2014-01-20\n", "outcomes")
    assert not Outcome.objects.exists()
