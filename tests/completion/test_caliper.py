"""Caliper 1.1 and 1.2 validation: every event and entity type of the spec accepted, and each
category of the IMS negative fixtures refused with a reason (rewritten here as this project's
own cases: wrong datatypes, wrong entity types, unknown terms, missing or null ids, unknown
contexts, malformed envelopes)."""

from __future__ import annotations

import copy

import pytest

from completion.ingest.caliper.envelopes import to_event
from completion.ingest.caliper.validation import check_envelope, check_item
from completion.ingest.caliper.vocabulary import ENTITY, EVENT
from tests.completion.caliper_samples import (
    APP,
    ATTEMPT,
    ENTITIES,
    EVENTS,
    LEARNER,
    SECTION,
    V1P1,
    V1P2,
    describe,
    envelope,
    event,
    ref,
)


def test_the_samples_cover_every_type_of_the_model():
    assert set(ENTITIES) == set(ENTITY)
    assert set(EVENTS) == set(EVENT)


@pytest.mark.parametrize("kind", sorted(ENTITIES))
@pytest.mark.parametrize("context", [V1P1, V1P2])
def test_every_entity_type_is_accepted_as_a_describe(kind, context):
    assert check_item(describe(kind, context), version=context[-4:]) == []


@pytest.mark.parametrize(
    ("kind", "action"),
    [(kind, action) for kind, spec in sorted(EVENTS.items()) for action in spec[0]],
)
def test_every_event_type_is_accepted_with_each_of_its_actions(kind, action):
    assert check_item(event(kind, action), version="v1p2") == []
    assert check_item(event(kind, action, context=V1P1), version="v1p1") == []


def test_session_timed_out_is_software_acting_on_a_session():
    timed_out = event(
        "SessionEvent", "TimedOut", actor=APP, object=ref("Session", "sessions/1", user=LEARNER)
    )
    assert check_item(timed_out, version="v1p2") == []
    mapped = to_event(timed_out)
    assert mapped.actor.sub == LEARNER["id"]  # the session's user, not the software
    wrong = event("SessionEvent", "TimedOut", actor=APP, object=APP)
    assert any("object.type" in p for p in check_item(wrong, version="v1p2"))


@pytest.mark.parametrize(
    "extension",
    [
        "ToolLaunchProfile-extension",
        "SurveyProfile-extension",
        "FeedbackProfile-extension",
        "ResourceManagementProfile-extension",
        "SearchProfile-extension",
    ],
)
def test_v1p1_profile_extension_contexts_are_known(extension):
    item = event("SearchEvent", context=f"{V1P1}/{extension}")
    assert check_item(item, version="v1p1") == []


def test_thinned_events_and_context_lists_and_inline_contexts_are_accepted():
    thinned = event(
        "AssessmentEvent",
        actor=LEARNER["id"],
        object=ENTITIES["Assessment"]["id"],
        edApp=APP["id"],
        group=SECTION["id"],
        membership=ENTITIES["Membership"]["id"],
        session=f"{SECTION['id']}/sessions/1",
        referrer="https://school.example.org/from",
    )
    assert check_item(thinned, version="v1p2") == []
    listed = event("Event", "Searched", extensions={"query": "x"})
    listed["@context"] = [{"query": "http://schema.org/query"}, V1P1]
    assert check_item(listed, version="v1p1") == []
    inline = event("MessageEvent")
    inline["@context"] = {"id": "@id", "type": "@type", "caliper": "http://purl.imsglobal.org/"}
    assert check_item(inline, version="v1p2") == []
    anonymous = event("ToolUseEvent", actor="http://purl.imsglobal.org/caliper/Person")
    assert check_item(anonymous, version="v1p2") == []


def test_decimals_must_have_a_fraction_in_1p2_but_not_in_1p1():
    whole = describe("AggregateMeasure", metricValue=12)
    assert check_item(whole, version="v1p2") == ["metricValue: must be a decimal number"]
    assert check_item(describe("AggregateMeasure", V1P1, metricValue=12), version="v1p1") == []


# --- negative categories: entity properties -----------------------------------------------------

ENTITY_NEGATIVES = [
    ("Entity", "dateCreated", "2016-13-01T06:00:00.000Z"),
    ("Entity", "dateModified", "yesterday"),
    ("Entity", "extensions", "a string"),
    ("Entity", "extensions", "https://example.org/extensions"),
    ("Entity", "name", 12),
    ("AggregateMeasure", "maxMetricValue", "Twelve"),
    ("AggregateMeasure", "metricValue", "Twelve"),
    ("AggregateMeasure", "metric", "MinutesAsleep"),
    ("AggregateMeasure", "startedAtTime", "not a time"),
    ("AggregateMeasureCollection", "items", [ref("Person", "p/1")]),
    ("AggregateMeasureCollection", "items", ref("AggregateMeasure", "m/1")),
    ("Annotation", "annotator", ref("Document", "d/1")),
    ("Annotation", "annotated", ref("Person", "p/1")),
    ("Assessment", "items", ref("AssessmentItem", "i/1")),
    ("Assessment", "items", [ref("Document", "d/1")]),
    ("AssessmentItem", "isTimeDependent", "false"),
    ("AssignableDigitalResource", "dateToShow", "2016-02-30T00:00:00.000Z"),
    ("AssignableDigitalResource", "dateToSubmit", "soon"),
    ("AssignableDigitalResource", "dateToActivate", 1),
    ("AssignableDigitalResource", "dateToStartOn", "2016-08-16"),
    ("AssignableDigitalResource", "maxAttempts", "two"),
    ("AssignableDigitalResource", "maxSubmits", 2.5),
    ("AssignableDigitalResource", "maxScore", "fifteen"),
    ("Attempt", "assignable", ref("Person", "p/1")),
    ("Attempt", "assignee", ref("Assessment", "a/1")),
    ("Attempt", "count", "One"),
    ("Attempt", "count", True),
    ("Attempt", "duration", "forty minutes"),
    ("Attempt", "startedAtTime", "2016-11-15 10:15"),
    ("Attempt", "endedAtTime", "2016-11-15T10:15:00"),  # no time zone
    ("Attempt", "isPartOf", ref("Assessment", "a/1")),
    ("AudioObject", "muted", "no"),
    ("AudioObject", "muted", 0),
    ("AudioObject", "volumeLevel", 11),
    ("AudioObject", "volumeMax", 100),
    ("AudioObject", "volumeMin", 0),
    ("BookmarkAnnotation", "bookmarkNotes", ["note"]),
    ("Collection", "items", "https://example.org/items"),
    ("Comment", "commenter", ref("SoftwareApplication", "s/1")),
    ("Comment", "value", 12),
    ("CourseOffering", "academicSession", 2016),
    ("CourseOffering", "courseNumber", 435),
    ("CourseSection", "category", 1),
    ("DateTimeQuestion", "maxDateTime", "2018-08-01"),
    ("DateTimeQuestion", "minDateTime", "later"),
    ("DateTimeQuestion", "maxLabel", 9),
    ("DateTimeQuestion", "minLabel", 0),
    ("DateTimeResponse", "dateTimeSelected", "noon"),
    ("DigitalResource", "creators", LEARNER),
    ("DigitalResource", "creators", [ref("Document", "d/1")]),
    ("DigitalResource", "datePublished", "2016"),
    ("DigitalResource", "isPartOf", 7),
    ("DigitalResource", "keywords", "a, b"),
    ("DigitalResource", "keywords", [1, 2]),
    ("DigitalResource", "learningObjectives", ref("LearningObjective", "lo/1")),
    ("DigitalResource", "learningObjectives", [ref("Person", "p/1")]),
    ("DigitalResource", "mediaType", 5),
    ("DigitalResource", "storageName", 3),
    ("DigitalResource", "version", 1.1),
    ("DigitalResourceCollection", "items", [ref("Person", "p/1")]),
    ("FillinBlankResponse", "values", "a"),
    ("FillinBlankResponse", "values", ["a", 2]),
    ("Forum", "items", ref("Thread", "t/1")),
    ("Forum", "items", [ref("Message", "m/1")]),
    ("Frame", "index", "3"),
    ("Group", "members", [ref("Document", "d/1")]),
    ("HighlightAnnotation", "selectionText", 5),
    ("HighlightAnnotation", "selection", ref("Person", "p/1")),
    ("LikertScale", "itemLabels", "a b"),
    ("LikertScale", "itemValues", [1, 2]),
    ("LikertScale", "scalePoints", "four"),
    ("LtiLink", "messageType", "LtiLaunchEverything"),
    ("LtiSession", "messageParameters", ["sub", "ada"]),
    ("MediaLocation", "currentTime", "00:30"),
    ("MediaObject", "duration", 90),
    ("Membership", "member", ref("Document", "d/1")),
    ("Membership", "organization", ref("Person", "p/1")),
    ("Membership", "roles", "Learner"),
    ("Membership", "roles", ["Student"]),
    ("Membership", "status", "Sleeping"),
    ("Message", "attachments", ref("Document", "d/1")),
    ("Message", "attachments", [ref("Person", "p/1")]),
    ("Message", "body", 12),
    ("Message", "replyTo", ref("Document", "d/1")),
    ("MultipleChoiceResponse", "value", 3),
    ("MultipleResponseResponse", "values", "A"),
    ("MultipleResponseResponse", "values", ["A", 4]),
    ("MultiselectQuestion", "itemLabels", "a"),
    ("MultiselectQuestion", "itemValues", [1]),
    ("MultiselectQuestion", "points", "4"),
    ("MultiselectResponse", "selections", "1"),
    ("MultiselectResponse", "selections", ["1", 1235]),
    ("MultiselectScale", "isOrderedSelection", "yes"),
    ("MultiselectScale", "maxSelections", "2"),
    ("MultiselectScale", "minSelections", "1"),
    ("NumericScale", "maxValue", "ten"),
    ("NumericScale", "minValue", "zero"),
    ("NumericScale", "step", "half"),
    ("NumericScale", "minLabel", 0),
    ("Organization", "members", [ref("Document", "d/1")]),
    ("Query", "creator", ref("SoftwareApplication", "s/1")),
    ("Query", "searchTerms", ["caliper"]),
    ("Questionnaire", "items", ref("QuestionnaireItem", "q/1")),
    ("Questionnaire", "items", [ref("Document", "d/1")]),
    ("QuestionnaireItem", "categories", "teaching"),
    ("QuestionnaireItem", "categories", [1]),
    ("QuestionnaireItem", "question", ref("Document", "d/1")),
    ("QuestionnaireItem", "weight", "heavy"),
    ("Rating", "rater", ref("Document", "d/1")),
    ("Rating", "ratingComment", ref("Document", "d/1")),
    ("Rating", "selections", "1"),
    ("Rating", "selections", [1]),
    ("RatingScaleResponse", "selections", ["Satisfied", 10.0]),
    ("Response", "attempt", ref("Document", "d/1")),
    ("Response", "duration", "PTX"),
    ("Response", "endedAtTime", "2018-08-01T25:00:00.000Z"),
    ("Response", "startedAtTime", "x"),
    ("Result", "scoredBy", ref("Document", "d/1")),
    ("Result", "resultScore", "nine"),
    ("Score", "scoreGiven", "seven"),
    ("Score", "maxScore", "ten"),
    ("Score", "scoredBy", ref("Document", "d/1")),
    ("Score", "attempt", ref("Document", "d/1")),
    ("Session", "user", ref("Document", "d/1")),
    ("Session", "client", ref("Person", "p/1")),
    ("Session", "duration", "2 hours"),
    ("SharedAnnotation", "withAgents", ref("Person", "p/1")),
    ("SharedAnnotation", "withAgents", [ref("Document", "d/1")]),
    ("SoftwareApplication", "version", 2),
    ("Survey", "items", [ref("Document", "d/1")]),
    ("SurveyInvitation", "rater", ref("Document", "d/1")),
    ("SurveyInvitation", "sentCount", "two"),
    ("SurveyInvitation", "dateSent", "today"),
    ("SystemIdentifier", "identifierType", "Nickname"),
    ("SystemIdentifier", "source", ref("Person", "p/1")),
    ("TagAnnotation", "tags", "exam"),
    ("TagAnnotation", "tags", [1]),
    ("TextPositionSelector", "start", "2300"),
    ("TextPositionSelector", "end", 23.5),
    ("Thread", "items", [ref("Document", "d/1")]),
    ("TrueFalseResponse", "value", True),
]


@pytest.mark.parametrize(("kind", "name", "bad"), ENTITY_NEGATIVES)
def test_an_entity_property_of_the_wrong_kind_is_refused_with_its_name(kind, name, bad):
    problems = check_item(describe(kind, **{name: copy.deepcopy(bad)}), version="v1p2")
    assert problems, f"{kind}.{name}={bad!r} was accepted"
    assert any(p.startswith(name) for p in problems), problems


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"id": None}, "id: required"),
        ({"id": "no scheme"}, "id: required"),
        ({"@context": "http://some.domain.example/not/caliper"}, "@context"),
        ({"@context": None}, "@context: required"),
        ({"type": "Unicorn"}, "not a Caliper entity type"),
        ({"type": 7}, "type: required"),
    ],
)
def test_entity_identity_context_and_type_are_required(change, problem):
    problems = check_item({**describe("Person"), **change}, version="v1p2")
    assert any(problem in p for p in problems), problems


def test_an_entity_without_an_id_is_refused_unless_it_is_a_value_object():
    person = describe("Person")
    del person["id"]
    assert check_item(person, version="v1p2") == [
        "id: required, an IRI (of at most 1000 characters)"
    ]
    assert check_item(describe("SystemIdentifier"), version="v1p2") == []
    missing = describe("SystemIdentifier")
    del missing["identifierType"]
    assert check_item(missing, version="v1p2") == ["identifierType: required for SystemIdentifier"]
    no_value = describe("AggregateMeasure")
    del no_value["metricValue"]
    assert check_item(no_value, version="v1p2") == ["metricValue: required for AggregateMeasure"]


# --- negative categories: events -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "change", "problem"),
    [
        ("GradeEvent", {"object": ENTITIES["Assessment"]}, "object.type"),
        ("SearchEvent", {"generated": ENTITIES["Document"]}, "generated.type"),
        ("ViewEvent", {"actor": ENTITIES["Document"]}, "actor.type"),
        ("ViewEvent", {"object": LEARNER}, "object.type"),
        ("MediaEvent", {"target": ENTITIES["Frame"]}, "target.type"),
        ("ViewEvent", {"group": ENTITIES["Document"]}, "group.type"),
        ("ViewEvent", {"membership": ENTITIES["Document"]}, "membership.type"),
        ("ViewEvent", {"session": ENTITIES["Document"]}, "session.type"),
        ("ViewEvent", {"federatedSession": ENTITIES["Session"]}, "federatedSession.type"),
        ("ViewEvent", {"edApp": LEARNER}, "edApp.type"),
        ("ViewEvent", {"referrer": 12}, "referrer"),
        ("ViewEvent", {"action": "Watched"}, "action"),
        ("SessionEvent", {"action": "Viewed"}, "action"),
        ("ViewEvent", {"action": None}, "action"),
        ("ViewEvent", {"actor": None}, "actor"),
        ("ViewEvent", {"object": None}, "object"),
        ("ViewEvent", {"eventTime": "2016-11-15"}, "eventTime"),
        ("ViewEvent", {"id": "urn:uuid:not-a-uuid"}, "id"),
        ("ViewEvent", {"id": "https://example.org/events/1"}, "id"),
        ("ViewEvent", {"type": "DanceEvent"}, "not a Caliper event type"),
        ("ViewEvent", {"type": "ReadingEvent"}, "deprecated"),
        ("ViewEvent", {"extensions": "x"}, "extensions"),
        ("ViewEvent", {"profile": 3}, "profile"),
        ("AssessmentEvent", {"generated": {**ATTEMPT, "count": "One"}}, "generated.count"),
    ],
)
def test_an_event_with_a_wrong_part_is_refused_naming_it(kind, change, problem):
    problems = check_item({**event(kind), **change}, version="v1p2")
    assert any(problem in p for p in problems), problems


def test_the_envelope_takes_exactly_its_four_properties():
    assert check_envelope(envelope(event("ViewEvent")))[0] == []
    assert check_envelope(envelope(event("ViewEvent"), extra=1))[0] == [
        "extra: the envelope may hold no other property"
    ]
    problems, _ = check_envelope({"data": []})
    assert [p.split(":")[0] for p in problems] == ["sensor", "sendTime", "dataVersion", "data"]
    assert check_envelope(envelope(event("ViewEvent"), version="http://x.example/v9"))[1] is None
    assert check_envelope([event("ViewEvent")])[0] == ["the envelope must be a JSON object"]


# --- mapping to the timeline ---------------------------------------------------------------------


def test_a_grade_is_recorded_on_the_learner_graded_with_its_score():
    graded = to_event(event("GradeEvent"))
    assert graded.actor.sub == LEARNER["id"]  # the Attempt's assignee, not the grader
    assert (graded.verb, graded.score) == ("submitted", 0.75)
    assert graded.item_id == ENTITIES["Assessment"]["id"]  # the assignable, not the attempt
    assert graded.duration_seconds == 750.0


def test_software_acting_alone_names_no_learner():
    assert to_event(event("ViewEvent", actor=APP)) is None
    anonymous = event("ToolUseEvent", actor={"id": "http://purl.imsglobal.org/caliper/Person"})
    assert to_event(anonymous) is None


def test_the_lti_session_names_the_user_and_course():
    lti = ref(
        "LtiSession",
        "lti/s/1",
        messageParameters={
            "sub": "lti-ada",
            "https://purl.imsglobal.org/spec/lti/claim/context": {"id": "ctx-7"},
        },
    )
    mapped = to_event(event("ViewEvent", federatedSession=lti))
    assert (mapped.actor.sub, mapped.course_key) == ("lti-ada", "ctx-7")
    assert to_event(event("ViewEvent")).course_key == SECTION["id"]


@pytest.mark.parametrize(
    ("kind", "action", "verb"),
    [
        ("SessionEvent", "LoggedIn", "logged_in"),
        ("NavigationEvent", "NavigatedTo", "viewed"),
        ("AssessmentEvent", "Started", "attempted"),
        ("AssessmentEvent", "Submitted", "submitted"),
        ("AssignableEvent", "Submitted", "submitted"),
        ("AssignableEvent", "Completed", "completed"),
        ("AssessmentItemEvent", "Completed", "progressed"),
        ("MessageEvent", "Posted", "posted"),
        ("FeedbackEvent", "Commented", "posted"),
        ("MediaEvent", "Ended", "completed"),
        ("MediaEvent", "JumpedTo", "progressed"),
        ("ToolUseEvent", "Used", "launched"),
        ("ToolLaunchEvent", "Launched", "launched"),
        ("QuestionnaireEvent", "Submitted", "submitted"),
        ("ForumEvent", "Subscribed", "other"),
        ("Event", "Modified", "other"),
    ],
)
def test_event_types_map_to_timeline_verbs(kind, action, verb):
    assert to_event(event(kind, action)).verb == verb
