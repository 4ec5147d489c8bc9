"""Caliper messages written for these tests: one valid example of every entity and event type
of Caliper 1.1 and 1.2, in this project's own words (the IMS fixtures may not be copied)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

V1P1 = "http://purl.imsglobal.org/ctx/caliper/v1p1"
V1P2 = "http://purl.imsglobal.org/ctx/caliper/v1p2"
BASE = "https://school.example.org"
LEARNER = {"id": f"{BASE}/people/ada", "type": "Person"}
APP = {"id": BASE, "type": "SoftwareApplication", "version": "3"}
SECTION = {"id": f"{BASE}/courses/9/sections/1", "type": "CourseSection", "courseNumber": "B-9"}
NOW = "2024-05-06T07:08:09.000Z"


def ref(kind: str, path: str, **props: Any) -> dict[str, Any]:
    return {"id": f"{BASE}/{path}", "type": kind, **props}


QUESTION = ref(
    "RatingScaleQuestion",
    "q/1",
    questionPosed="Useful?",
    scale=ref(
        "LikertScale",
        "scales/1",
        scalePoints=3,
        itemLabels=["no", "so-so", "yes"],
        itemValues=["0", "1", "2"],
    ),
)
ATTEMPT = ref(
    "Attempt",
    "quiz/1/attempts/1",
    assignee=LEARNER,
    assignable=ref("Assessment", "quiz/1"),
    count=1,
    startedAtTime=NOW,
    endedAtTime=NOW,
    duration="PT12M30S",
)

# One valid example per entity type, with the properties particular to it.
ENTITIES: dict[str, dict[str, Any]] = {
    "Entity": ref("Entity", "things/1", name="A thing", extensions={"x": {"y": [1]}}),
    "Agent": ref("Agent", "agents/1"),
    "Person": ref(
        "Person",
        "people/ada",
        name="Ada Lovelace",
        otherIdentifiers=[
            {"type": "SystemIdentifier", "identifier": "ada-sis", "identifierType": "SisSourcedId"}
        ],
    ),
    "SoftwareApplication": ref(
        "SoftwareApplication",
        "app",
        version="2",
        host="h.example",
        ipAddress="10.0.0.1",
        userAgent="Mozilla/5.0",
    ),
    "Organization": ref(
        "Organization", "orgs/1", members=[LEARNER], subOrganizationOf=ref("Organization", "orgs/0")
    ),
    "Group": ref("Group", "groups/1", members=[LEARNER], subOrganizationOf=SECTION),
    "CourseOffering": ref(
        "CourseOffering", "courses/9", courseNumber="B-9", academicSession="Spring"
    ),
    "CourseSection": dict(SECTION, category="lecture", academicSession="Spring"),
    "Membership": ref(
        "Membership",
        "courses/9/members/ada",
        member=LEARNER,
        organization=SECTION,
        roles=["Learner", "Mentor#Advisor"],
        status="Active",
    ),
    "DigitalResource": ref(
        "DigitalResource",
        "files/1",
        mediaType="application/pdf",
        storageName="a.pdf",
        version="1",
        keywords=["a", "b"],
        creators=[LEARNER],
        learningObjectives=[ref("LearningObjective", "lo/1")],
        isPartOf=ref("DigitalResourceCollection", "files"),
        datePublished=NOW,
    ),
    "AssignableDigitalResource": ref(
        "AssignableDigitalResource",
        "tasks/1",
        dateToShow=NOW,
        dateToSubmit=NOW,
        dateToActivate=NOW,
        dateToStartOn=NOW,
        maxAttempts=2,
        maxSubmits=3,
        maxScore=10.0,
    ),
    "Assessment": ref(
        "Assessment", "quiz/1", items=[ref("AssessmentItem", "quiz/1/q/1")], maxScore=15.0
    ),
    "AssessmentItem": ref("AssessmentItem", "quiz/1/q/1", isTimeDependent=False),
    "Chapter": ref("Chapter", "book/ch/1"),
    "Document": ref("Document", "docs/1"),
    "Page": ref("Page", "book/p/1"),
    "WebPage": ref("WebPage", "web/1"),
    "Frame": ref("Frame", "book/frame/3", index=3),
    "Reading": ref("Reading", "readings/1"),
    "DigitalResourceCollection": ref(
        "DigitalResourceCollection", "files", items=[ref("Document", "docs/1")]
    ),
    "Forum": ref("Forum", "forums/1", items=[ref("Thread", "forums/1/t/1")]),
    "Thread": ref("Thread", "forums/1/t/1", items=[ref("Message", "forums/1/t/1/m/1")]),
    "Message": ref(
        "Message",
        "forums/1/t/1/m/2",
        body="Hello",
        replyTo=ref("Message", "forums/1/t/1/m/1"),
        attachments=[ref("Document", "docs/1")],
        isPartOf=ref("Thread", "forums/1/t/1"),
    ),
    "MediaObject": ref("MediaObject", "media/1", duration="PT1H"),
    "AudioObject": ref(
        "AudioObject", "audio/1", volumeMin="0", volumeMax="100", volumeLevel="70", muted=False
    ),
    "ImageObject": ref("ImageObject", "img/1"),
    "VideoObject": ref("VideoObject", "video/1", duration="PT05M21S"),
    "MediaLocation": ref("MediaLocation", "video/1#t=30", currentTime="PT30S"),
    "Link": ref("Link", "links/1"),
    "LtiLink": ref("LtiLink", "lti/1", messageType="LtiResourceLinkRequest"),
    "Questionnaire": ref(
        "Questionnaire", "surveys/1/qn/1", items=[ref("QuestionnaireItem", "surveys/1/qn/1/i/1")]
    ),
    "QuestionnaireItem": ref(
        "QuestionnaireItem",
        "surveys/1/qn/1/i/1",
        question=QUESTION,
        categories=["teaching"],
        weight=1.0,
    ),
    "Collection": ref("Collection", "sets/1", items=[ref("Entity", "things/1")]),
    "Survey": ref("Survey", "surveys/1", items=[ref("Questionnaire", "surveys/1/qn/1")]),
    "SurveyInvitation": ref(
        "SurveyInvitation",
        "surveys/1/inv/ada",
        rater=LEARNER,
        survey=ref("Survey", "surveys/1"),
        sentCount=2,
        dateSent=NOW,
    ),
    "Attempt": ATTEMPT,
    "Score": ref(
        "Score",
        "scores/1",
        attempt=ATTEMPT,
        maxScore=10.0,
        scoreGiven=7.5,
        scoredBy=APP,
        comment="ok",
    ),
    "Result": ref(
        "Result",
        "results/1",
        attempt=ATTEMPT,
        maxResultScore=10.0,
        resultScore=9.0,
        scoredBy=LEARNER,
        comment="fine",
    ),
    "Response": ref(
        "Response",
        "responses/0",
        attempt=ATTEMPT,
        startedAtTime=NOW,
        endedAtTime=NOW,
        duration="PT1M",
    ),
    "FillinBlankResponse": ref("FillinBlankResponse", "responses/1", values=["a", "b"]),
    "MultipleChoiceResponse": ref("MultipleChoiceResponse", "responses/2", value="C"),
    "MultipleResponseResponse": ref("MultipleResponseResponse", "responses/3", values=["A", "D"]),
    "SelectTextResponse": ref("SelectTextResponse", "responses/4", values=["word"]),
    "TrueFalseResponse": ref("TrueFalseResponse", "responses/5", value="true"),
    "OpenEndedResponse": ref("OpenEndedResponse", "responses/6", value="Because."),
    "MultiselectResponse": ref("MultiselectResponse", "responses/7", selections=["1", "3"]),
    "RatingScaleResponse": ref("RatingScaleResponse", "responses/8", selections=["2"]),
    "DateTimeResponse": ref("DateTimeResponse", "responses/9", dateTimeSelected=NOW),
    "Session": ref(
        "Session",
        "sessions/1",
        user=LEARNER,
        client=APP,
        startedAtTime=NOW,
        endedAtTime=NOW,
        duration="PT2H",
    ),
    "LtiSession": ref(
        "LtiSession",
        "lti/sessions/1",
        user=LEARNER,
        messageParameters={
            "sub": "ada",
            "https://purl.imsglobal.org/spec/lti/claim/roles": ["Learner"],
            "exp": 1,
        },
    ),
    "Annotation": ref(
        "Annotation", "notes/0", annotator=LEARNER, annotated=ref("Page", "book/p/1")
    ),
    "BookmarkAnnotation": ref(
        "BookmarkAnnotation", "notes/1", annotator=LEARNER, bookmarkNotes="come back"
    ),
    "HighlightAnnotation": ref(
        "HighlightAnnotation",
        "notes/2",
        selectionText="quoted",
        selection={"type": "TextPositionSelector", "start": 5, "end": 11},
    ),
    "SharedAnnotation": ref("SharedAnnotation", "notes/3", withAgents=[LEARNER]),
    "TagAnnotation": ref("TagAnnotation", "notes/4", tags=["exam", "key"]),
    "TextPositionSelector": {"type": "TextPositionSelector", "start": 1, "end": 9},
    "AggregateMeasure": ref(
        "AggregateMeasure",
        "measures/1",
        metric="MinutesOnTask",
        metricValue=873.0,
        maxMetricValue=900.0,
        startedAtTime=NOW,
        endedAtTime=NOW,
    ),
    "AggregateMeasureCollection": ref(
        "AggregateMeasureCollection",
        "measures",
        items=[ref("AggregateMeasure", "measures/2", metric="UnitsCompleted", metricValue=12.0)],
    ),
    "Comment": ref(
        "Comment",
        "comments/1",
        commenter=LEARNER,
        value="Nice",
        commentedOn=ref("Document", "docs/1"),
    ),
    "Rating": ref(
        "Rating",
        "ratings/1",
        rater=LEARNER,
        rated=ref("Document", "docs/1"),
        question=QUESTION,
        selections=["2"],
        ratingComment=ref("Comment", "comments/1", value="why"),
    ),
    "Question": ref("Question", "q/0", questionPosed="Why?"),
    "DateTimeQuestion": ref(
        "DateTimeQuestion",
        "q/2",
        minDateTime=NOW,
        maxDateTime=NOW,
        minLabel="start",
        maxLabel="end",
    ),
    "MultiselectQuestion": ref(
        "MultiselectQuestion", "q/3", points=4, itemLabels=["a", "b"], itemValues=["1", "2"]
    ),
    "OpenEndedQuestion": ref("OpenEndedQuestion", "q/4", questionPosed="Tell us"),
    "RatingScaleQuestion": QUESTION,
    "Scale": ref("Scale", "scales/0"),
    "LikertScale": ref(
        "LikertScale", "scales/2", scalePoints=2, itemLabels=["n", "y"], itemValues=["0", "1"]
    ),
    "MultiselectScale": ref(
        "MultiselectScale",
        "scales/3",
        scalePoints=3,
        itemLabels=["a", "b", "c"],
        itemValues=["1", "2", "3"],
        isOrderedSelection=False,
        minSelections=1,
        maxSelections=2,
    ),
    "NumericScale": ref(
        "NumericScale",
        "scales/4",
        minValue=0.0,
        maxValue=10.0,
        step=0.5,
        minLabel="low",
        maxLabel="high",
    ),
    "Query": ref(
        "Query",
        "search?q=x",
        creator=LEARNER,
        searchTerms="caliper AND lti",
        searchTarget=ref("SoftwareApplication", "catalog"),
    ),
    "SearchResponse": ref(
        "SearchResponse",
        "search/result",
        searchProvider=APP,
        searchTarget=ref("SoftwareApplication", "catalog"),
        query=ref("Query", "search?q=x"),
        searchResultsItemCount=2,
        searchResults=[ref("Document", "docs/1"), f"{BASE}/docs/2"],
    ),
    "LearningObjective": ref("LearningObjective", "lo/1", name="Outcome 1"),
    "SystemIdentifier": {
        "type": "SystemIdentifier",
        "identifier": "ada@example.org",
        "identifierType": "EmailAddress",
        "source": APP,
    },
    "PhysicalResource": ref("PhysicalResource", "library/items/1"),
    "Book": ref("Book", "library/books/1"),
    "Library": ref("Library", "library", name="Main library"),
    "LibrarySpace": ref("LibrarySpace", "library/rooms/2"),
}

# One valid example per event type: (actions of the spec, actor, object, generated, target).
EVENTS: dict[str, tuple[list[str], Any, Any, Any, Any]] = {
    "Event": (
        ["Created", "Modified", "Searched", "Anything"],
        LEARNER,
        ENTITIES["Document"],
        None,
        None,
    ),
    "AnnotationEvent": (
        ["Bookmarked", "Highlighted", "Shared", "Tagged"],
        LEARNER,
        ENTITIES["Page"],
        ENTITIES["HighlightAnnotation"],
        ENTITIES["Frame"],
    ),
    "AssessmentEvent": (
        ["Started", "Paused", "Resumed", "Restarted", "Reset", "Submitted"],
        LEARNER,
        ENTITIES["Assessment"],
        ATTEMPT,
        None,
    ),
    "AssessmentItemEvent": (
        ["Started", "Skipped", "Completed"],
        LEARNER,
        ENTITIES["AssessmentItem"],
        ENTITIES["FillinBlankResponse"],
        None,
    ),
    "AssignableEvent": (
        ["Activated", "Deactivated", "Started", "Completed", "Submitted", "Reviewed"],
        LEARNER,
        ENTITIES["AssignableDigitalResource"],
        ATTEMPT,
        ENTITIES["Frame"],
    ),
    "FeedbackEvent": (
        ["Commented", "Ranked"],
        LEARNER,
        ENTITIES["Document"],
        ENTITIES["Rating"],
        None,
    ),
    "ForumEvent": (["Subscribed", "Unsubscribed"], LEARNER, ENTITIES["Forum"], None, None),
    "GradeEvent": (["Graded"], APP, ATTEMPT, ENTITIES["Score"], None),
    "MediaEvent": (
        [
            "Started",
            "Ended",
            "Paused",
            "Resumed",
            "Restarted",
            "ForwardedTo",
            "JumpedTo",
            "ChangedResolution",
            "ChangedSize",
            "ChangedSpeed",
            "ChangedVolume",
            "EnabledClosedCaptioning",
            "DisabledClosedCaptioning",
            "EnteredFullScreen",
            "ExitedFullScreen",
            "Muted",
            "Unmuted",
            "OpenedPopout",
            "ClosedPopout",
        ],
        LEARNER,
        ENTITIES["VideoObject"],
        None,
        ENTITIES["MediaLocation"],
    ),
    "MessageEvent": (
        ["Posted", "MarkedAsRead", "MarkedAsUnRead"],
        LEARNER,
        ENTITIES["Message"],
        None,
        None,
    ),
    "NavigationEvent": (["NavigatedTo"], LEARNER, ENTITIES["WebPage"], None, ENTITIES["Frame"]),
    "QuestionnaireEvent": (
        ["Started", "Submitted", "Completed"],
        LEARNER,
        ENTITIES["Questionnaire"],
        None,
        None,
    ),
    "QuestionnaireItemEvent": (
        ["Started", "Skipped", "Completed"],
        LEARNER,
        ENTITIES["QuestionnaireItem"],
        ENTITIES["RatingScaleResponse"],
        None,
    ),
    "ResourceManagementEvent": (
        [
            "Archived",
            "Copied",
            "Created",
            "Deleted",
            "Described",
            "Downloaded",
            "Modified",
            "Printed",
            "Published",
            "Restored",
            "Retrieved",
            "Saved",
            "Unpublished",
            "Uploaded",
        ],
        LEARNER,
        ENTITIES["Document"],
        ENTITIES["Document"],
        None,
    ),
    "SearchEvent": (
        ["Searched"],
        LEARNER,
        ref("SoftwareApplication", "catalog"),
        ENTITIES["SearchResponse"],
        None,
    ),
    "SessionEvent": (["LoggedIn", "LoggedOut"], LEARNER, APP, None, ENTITIES["WebPage"]),
    "SurveyEvent": (["OptedIn", "OptedOut"], LEARNER, ENTITIES["Survey"], None, None),
    "SurveyInvitationEvent": (
        ["Accepted", "Declined", "Sent"],
        LEARNER,
        ENTITIES["SurveyInvitation"],
        None,
        None,
    ),
    "ThreadEvent": (["MarkedAsRead", "MarkedAsUnRead"], LEARNER, ENTITIES["Thread"], None, None),
    "ToolLaunchEvent": (
        ["Launched", "Returned"],
        LEARNER,
        ref("SoftwareApplication", "tools/1"),
        ENTITIES["WebPage"],
        ENTITIES["LtiLink"],
    ),
    "ToolUseEvent": (["Used"], LEARNER, APP, ENTITIES["AggregateMeasureCollection"], APP),
    "ViewEvent": (["Viewed"], LEARNER, ENTITIES["Document"], None, None),
    "LibraryUseEvent": (["Used"], LEARNER, ENTITIES["Library"], None, None),
    "ResourceUseEvent": (
        ["Accessed", "Borrowed", "Returned"],
        LEARNER,
        ENTITIES["Book"],
        None,
        None,
    ),
}


def event(kind: str, action: str | None = None, context: str = V1P2, **extra: Any) -> dict:
    actions, actor, obj, generated, target = EVENTS[kind]
    out: dict[str, Any] = {
        "@context": context,
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": kind,
        "actor": copy.deepcopy(actor),
        "action": action or actions[0],
        "object": copy.deepcopy(obj),
        "eventTime": NOW,
        "edApp": APP,
        "group": SECTION,
        "membership": ENTITIES["Membership"],
        "session": ref("Session", "sessions/1", startedAtTime=NOW),
    }
    if generated is not None:
        out["generated"] = copy.deepcopy(generated)
    if target is not None:
        out["target"] = copy.deepcopy(target)
    return {**out, **extra}


def describe(kind: str, context: str = V1P2, **changes: Any) -> dict[str, Any]:
    return {"@context": context, **copy.deepcopy(ENTITIES[kind]), **changes}


def envelope(*items: Any, version: str = V1P2, **extra: Any) -> dict[str, Any]:
    return {
        "sensor": f"{BASE}/sensors/1",
        "sendTime": NOW,
        "dataVersion": version,
        "data": list(items),
        **extra,
    }
