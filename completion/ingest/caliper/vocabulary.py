"""The Caliper 1.1 and 1.2 information model as data: entity types and their properties, event
types with their actions and the entity types each place takes, and the spec's term lists. Pure.

One superset model serves both versions (1.2 adds properties and types; 1.1 profiles'
extension contexts use 1.2 types early). `validation` walks messages against these tables;
nothing here knows about HTTP, storage or Finishline's events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Property kinds: "str", "int", "dec" (a decimal), "bool", "datetime", "duration", "obj" (a
# free JSON object), "any"; ("term", name-of-term-list); ("ref", EntityType) for an entity
# given as an object of that type (or a subtype) or as its IRI; ("list", kind).
Kind = str | tuple[str, str] | tuple[str, "Kind"]


def ref(entity_type: str) -> tuple[str, str]:
    return ("ref", entity_type)


def list_of(kind: Kind) -> tuple[str, Kind]:
    return ("list", kind)


def term(name: str) -> tuple[str, str]:
    return ("term", name)


@dataclass(frozen=True)
class EntityType:
    parents: tuple[str, ...]
    properties: Mapping[str, Kind] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    has_id: bool = True  # value objects (SystemIdentifier, TextPositionSelector) have none


E = EntityType
ENTITY: Mapping[str, EntityType] = {
    "Entity": E(
        (),
        {
            "name": "str",
            "description": "str",
            "dateCreated": "datetime",
            "dateModified": "datetime",
            "extensions": "obj",
            "otherIdentifiers": list_of(ref("SystemIdentifier")),
        },
    ),
    # agents and organisations
    "Agent": E(("Entity",)),
    "Person": E(("Agent",)),
    "SoftwareApplication": E(
        ("Agent",), {"version": "str", "host": "str", "ipAddress": "str", "userAgent": "str"}
    ),
    "Organization": E(
        ("Agent",), {"subOrganizationOf": ref("Organization"), "members": list_of(ref("Agent"))}
    ),
    "Group": E(("Organization",)),
    "CourseOffering": E(("Organization",), {"courseNumber": "str", "academicSession": "str"}),
    "CourseSection": E(("CourseOffering",), {"category": "str"}),
    "Membership": E(
        ("Entity",),
        {
            "organization": ref("Organization"),
            "member": ref("Person"),
            "roles": list_of(term("roles")),
            "status": term("status"),
        },
    ),
    # digital resources
    "DigitalResource": E(
        ("Entity",),
        {
            "storageName": "str",
            "mediaType": "str",
            "version": "str",
            "creators": list_of(ref("Agent")),
            "keywords": list_of("str"),
            "learningObjectives": list_of(ref("LearningObjective")),
            "isPartOf": ref("Entity"),
            "datePublished": "datetime",
        },
    ),
    "AssignableDigitalResource": E(
        ("DigitalResource",),
        {
            "dateToActivate": "datetime",
            "dateToShow": "datetime",
            "dateToStartOn": "datetime",
            "dateToSubmit": "datetime",
            "maxAttempts": "int",
            "maxSubmits": "int",
            "maxScore": "dec",
        },
    ),
    "Assessment": E(("AssignableDigitalResource",), {"items": list_of(ref("AssessmentItem"))}),
    "AssessmentItem": E(("AssignableDigitalResource",), {"isTimeDependent": "bool"}),
    "Chapter": E(("DigitalResource",)),
    "Document": E(("DigitalResource",)),
    "Page": E(("DigitalResource",)),
    "WebPage": E(("DigitalResource",)),
    "Frame": E(("DigitalResource",), {"index": "int"}),
    "Reading": E(("DigitalResource",)),
    "DigitalResourceCollection": E(
        ("DigitalResource",), {"items": list_of(ref("DigitalResource"))}
    ),
    "Forum": E(("DigitalResourceCollection",), {"items": list_of(ref("Thread"))}),
    "Thread": E(("DigitalResourceCollection",), {"items": list_of(ref("Message"))}),
    "Message": E(
        ("DigitalResource",),
        {
            "replyTo": ref("Message"),
            "body": "str",
            "attachments": list_of(ref("DigitalResource")),
        },
    ),
    "MediaObject": E(("DigitalResource",), {"duration": "duration"}),
    "AudioObject": E(
        ("MediaObject",),
        {"volumeMin": "str", "volumeMax": "str", "volumeLevel": "str", "muted": "bool"},
    ),
    "ImageObject": E(("MediaObject",)),
    "VideoObject": E(("MediaObject",)),
    "MediaLocation": E(("DigitalResource",), {"currentTime": "duration"}),
    "Link": E(("Entity",)),
    "LtiLink": E(("Link", "DigitalResource"), {"messageType": term("lti_message_types")}),
    "Questionnaire": E(
        ("DigitalResourceCollection",), {"items": list_of(ref("QuestionnaireItem"))}
    ),
    "QuestionnaireItem": E(
        ("DigitalResource",),
        {"question": ref("Question"), "categories": list_of("str"), "weight": "dec"},
    ),
    "Collection": E(("Entity",), {"items": list_of(ref("Entity"))}),
    "Survey": E(("Collection",), {"items": list_of(ref("Questionnaire"))}),
    "SurveyInvitation": E(
        ("Entity",),
        {
            "rater": ref("Person"),
            "survey": ref("Survey"),
            "sentCount": "int",
            "dateSent": "datetime",
        },
    ),
    # attempts, scores, responses
    "Attempt": E(
        ("Entity",),
        {
            "assignee": ref("Person"),
            "assignable": ref("DigitalResource"),
            "isPartOf": ref("Attempt"),
            "count": "int",
            "startedAtTime": "datetime",
            "endedAtTime": "datetime",
            "duration": "duration",
        },
    ),
    "Score": E(
        ("Entity",),
        {
            "attempt": ref("Attempt"),
            "maxScore": "dec",
            "scoreGiven": "dec",
            "scoredBy": ref("Agent"),
            "comment": "str",
        },
    ),
    "Result": E(
        ("Entity",),
        {
            "attempt": ref("Attempt"),
            "maxResultScore": "dec",
            "resultScore": "dec",
            "scoredBy": ref("Agent"),
            "comment": "str",
        },
    ),
    "Response": E(
        ("Entity",),
        {
            "attempt": ref("Attempt"),
            "startedAtTime": "datetime",
            "endedAtTime": "datetime",
            "duration": "duration",
        },
    ),
    "FillinBlankResponse": E(("Response",), {"values": list_of("str")}),
    "MultipleChoiceResponse": E(("Response",), {"value": "str"}),
    "MultipleResponseResponse": E(("Response",), {"values": list_of("str")}),
    "SelectTextResponse": E(("Response",), {"values": list_of("str")}),
    "TrueFalseResponse": E(("Response",), {"value": "str"}),
    "OpenEndedResponse": E(("Response",), {"value": "str"}),
    "MultiselectResponse": E(("Response",), {"selections": list_of("str")}),
    "RatingScaleResponse": E(("Response",), {"selections": list_of("str")}),
    "DateTimeResponse": E(("Response",), {"dateTimeSelected": "datetime"}),
    # sessions
    "Session": E(
        ("Entity",),
        {
            "user": ref("Person"),
            "client": ref("SoftwareApplication"),
            "startedAtTime": "datetime",
            "endedAtTime": "datetime",
            "duration": "duration",
        },
    ),
    "LtiSession": E(("Session",), {"messageParameters": "obj"}),
    # annotations
    "Annotation": E(("Entity",), {"annotator": ref("Person"), "annotated": ref("DigitalResource")}),
    "BookmarkAnnotation": E(("Annotation",), {"bookmarkNotes": "str"}),
    "HighlightAnnotation": E(
        ("Annotation",), {"selection": ref("TextPositionSelector"), "selectionText": "str"}
    ),
    "SharedAnnotation": E(("Annotation",), {"withAgents": list_of(ref("Agent"))}),
    "TagAnnotation": E(("Annotation",), {"tags": list_of("str")}),
    "TextPositionSelector": E((), {"start": "int", "end": "int"}, has_id=False),
    # measures, feedback, questions and scales
    "AggregateMeasure": E(
        ("Entity",),
        {
            "metric": term("metrics"),
            "metricValue": "dec",
            "maxMetricValue": "dec",
            "startedAtTime": "datetime",
            "endedAtTime": "datetime",
        },
        required=("metric", "metricValue"),
    ),
    "AggregateMeasureCollection": E(("Collection",), {"items": list_of(ref("AggregateMeasure"))}),
    "Comment": E(
        ("Entity",), {"commenter": ref("Person"), "commentedOn": ref("Entity"), "value": "str"}
    ),
    "Rating": E(
        ("Entity",),
        {
            "rater": ref("Person"),
            "rated": ref("Entity"),
            "question": ref("Question"),
            "selections": list_of("str"),
            "ratingComment": ref("Comment"),
        },
    ),
    "Question": E(("Entity",), {"questionPosed": "str"}),
    "DateTimeQuestion": E(
        ("Question",),
        {
            "minDateTime": "datetime",
            "maxDateTime": "datetime",
            "minLabel": "str",
            "maxLabel": "str",
        },
    ),
    "MultiselectQuestion": E(
        ("Question",),
        {"points": "int", "itemLabels": list_of("str"), "itemValues": list_of("str")},
    ),
    "OpenEndedQuestion": E(("Question",)),
    "RatingScaleQuestion": E(("Question",), {"scale": ref("Scale")}),
    "Scale": E(("Entity",)),
    "LikertScale": E(
        ("Scale",),
        {"scalePoints": "int", "itemLabels": list_of("str"), "itemValues": list_of("str")},
    ),
    "MultiselectScale": E(
        ("Scale",),
        {
            "scalePoints": "int",
            "itemLabels": list_of("str"),
            "itemValues": list_of("str"),
            "isOrderedSelection": "bool",
            "minSelections": "int",
            "maxSelections": "int",
        },
    ),
    "NumericScale": E(
        ("Scale",),
        {
            "minValue": "dec",
            "maxValue": "dec",
            "step": "dec",
            "minLabel": "str",
            "maxLabel": "str",
        },
    ),
    # search
    "Query": E(
        ("Entity",),
        {"creator": ref("Person"), "searchTarget": ref("Entity"), "searchTerms": "str"},
    ),
    "SearchResponse": E(
        ("Entity",),
        {
            "searchProvider": ref("SoftwareApplication"),
            "searchTarget": ref("Entity"),
            "query": ref("Query"),
            "searchResultsItemCount": "int",
            "searchResults": list_of(ref("Entity")),
        },
    ),
    "LearningObjective": E(("Entity",)),
    "SystemIdentifier": E(
        (),
        {
            "identifier": "str",
            "identifierType": term("identifier_types"),
            "source": ref("SoftwareApplication"),
            "extensions": "obj",
        },
        required=("identifier", "identifierType"),
        has_id=False,
    ),
    # the Library profile (1.2 extension)
    "PhysicalResource": E(("Entity",)),
    "Book": E(("PhysicalResource",)),
    "Library": E(("Organization",)),
    "LibrarySpace": E(("Entity",)),
}


@dataclass(frozen=True)
class EventType:
    actions: frozenset[str]  # empty: any action (the generic Event)
    actor: str = "Agent"
    object: str = "Entity"
    generated: tuple[str, ...] = ("Entity",)
    target: tuple[str, ...] = ("Entity",)
    # Per action: (actor, object) when they differ from the defaults (SessionEvent TimedOut).
    by_action: Mapping[str, tuple[str, str]] = field(default_factory=dict)


MEDIA_ACTIONS = frozenset(
    {
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
    }
)
RESOURCE_ACTIONS = frozenset(
    {
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
    }
)
P = "Person"
EVENT: Mapping[str, EventType] = {
    "Event": EventType(frozenset()),
    "AnnotationEvent": EventType(
        frozenset({"Bookmarked", "Highlighted", "Shared", "Tagged"}),
        P,
        "DigitalResource",
        ("Annotation",),
        ("Frame",),
    ),
    "AssessmentEvent": EventType(
        frozenset({"Started", "Paused", "Resumed", "Restarted", "Reset", "Submitted"}),
        P,
        "Assessment",
        ("Attempt",),
    ),
    "AssessmentItemEvent": EventType(
        frozenset({"Started", "Skipped", "Completed"}), P, "AssessmentItem", ("Response",)
    ),
    "AssignableEvent": EventType(
        frozenset({"Activated", "Deactivated", "Started", "Completed", "Submitted", "Reviewed"}),
        P,
        "AssignableDigitalResource",
        ("Attempt",),
        ("Frame",),
    ),
    "FeedbackEvent": EventType(
        frozenset({"Commented", "Ranked"}), P, "Entity", ("Comment", "Rating"), ("Frame",)
    ),
    "ForumEvent": EventType(frozenset({"Subscribed", "Unsubscribed"}), P, "Forum"),
    "GradeEvent": EventType(frozenset({"Graded"}), "Agent", "Attempt", ("Score", "Result")),
    "MediaEvent": EventType(MEDIA_ACTIONS, P, "MediaObject", target=("MediaLocation",)),
    "MessageEvent": EventType(
        frozenset({"Posted", "MarkedAsRead", "MarkedAsUnRead"}), P, "Message"
    ),
    "NavigationEvent": EventType(
        frozenset({"NavigatedTo"}),
        P,
        "DigitalResource|SoftwareApplication",
        target=("DigitalResource",),
    ),
    "QuestionnaireEvent": EventType(
        frozenset({"Started", "Submitted", "Completed"}), P, "Questionnaire"
    ),
    "QuestionnaireItemEvent": EventType(
        frozenset({"Started", "Skipped", "Completed"}), P, "QuestionnaireItem", ("Response",)
    ),
    "ResourceManagementEvent": EventType(
        RESOURCE_ACTIONS, P, "DigitalResource", ("DigitalResource",)
    ),
    "SearchEvent": EventType(frozenset({"Searched"}), P, "Entity", ("SearchResponse",)),
    "SessionEvent": EventType(
        frozenset({"LoggedIn", "LoggedOut", "TimedOut"}),
        P,
        "SoftwareApplication",
        target=("DigitalResource",),
        by_action={"TimedOut": ("SoftwareApplication", "Session")},
    ),
    "SurveyEvent": EventType(frozenset({"OptedIn", "OptedOut"}), P, "Survey"),
    "SurveyInvitationEvent": EventType(
        frozenset({"Accepted", "Declined", "Sent"}), P, "SurveyInvitation"
    ),
    "ThreadEvent": EventType(frozenset({"MarkedAsRead", "MarkedAsUnRead"}), P, "Thread"),
    "ToolLaunchEvent": EventType(
        frozenset({"Launched", "Returned"}),
        P,
        "SoftwareApplication",
        ("DigitalResource",),
        ("Link",),
    ),
    "ToolUseEvent": EventType(
        frozenset({"Used"}),
        P,
        "SoftwareApplication",
        ("AggregateMeasureCollection",),
        ("SoftwareApplication",),
    ),
    "ViewEvent": EventType(frozenset({"Viewed"}), P, "DigitalResource"),
    # the Library profile (1.2 extension)
    "LibraryUseEvent": EventType(frozenset({"Used", "Accessed", "Borrowed", "Returned"}), P),
    "ResourceUseEvent": EventType(frozenset({"Accessed", "Borrowed", "Returned"}), P),
}
# Places every event may fill, and the entity type each takes (generated, target and referrer
# are per event type, above; referrer takes any entity).
EVENT_PLACES: Mapping[str, str] = {
    "edApp": "SoftwareApplication",
    "group": "Organization",
    "membership": "Membership",
    "session": "Session",
    "federatedSession": "LtiSession",
    "referrer": "Entity",
}
DEPRECATED_EVENTS = frozenset({"OutcomeEvent", "ReadingEvent"})

_INSTRUCTOR = (
    "ExternalInstructor Grader GuestInstructor Lecturer PrimaryInstructor SecondaryInstructor "
    "TeachingAssistant TeachingAssistantGroup TeachingAssistantOffering TeachingAssistantSection "
    "TeachingAssistantTemplate"
)
_SUB_ROLES = {
    "Learner": "ExternalLearner GuestLearner Learner NonCreditLearner Instructor",
    "Instructor": _INSTRUCTOR + " Instructor",
    "Member": "Member",
    "Manager": "AreaManager CourseCoordinator ExternalObserver Manager Observer",
    "Mentor": (
        "Advisor Auditor ExternalAdvisor ExternalAuditor ExternalLearningFacilitator "
        "ExternalMentor ExternalReviewer ExternalTutor LearningFacilitator Mentor Reviewer Tutor"
    ),
    "Administrator": (
        "Administrator Developer ExternalDeveloper ExternalSupport ExternalSystemAdministrator "
        "Support SystemAdministrator"
    ),
    "ContentDeveloper": "ContentDeveloper ContentExpert ExternalContentExpert Librarian",
}
TERMS: Mapping[str, frozenset[str]] = {
    "roles": frozenset(
        [*_SUB_ROLES, *(f"{r}#{s}" for r, subs in _SUB_ROLES.items() for s in subs.split())]
    ),
    "status": frozenset({"Active", "Inactive"}),
    "metrics": frozenset(
        {
            "AssessmentsPassed",
            "AssessmentsSubmitted",
            "MinutesOnTask",
            "SkillsMastered",
            "StandardsMastered",
            "UnitsCompleted",
            "UnitsPassed",
            "WordsRead",
        }
    ),
    "identifier_types": frozenset(
        {
            "AccountUserName",
            "EmailAddress",
            "LisSourcedId",
            "LtiContextId",
            "LtiDeploymentId",
            "LtiPlatformId",
            "LtiToolId",
            "LtiUserId",
            "OneRosterSourcedId",
            "Other",
            "SisSourcedId",
            "SystemId",
        }
    ),
    "lti_message_types": frozenset(
        {
            "basic-lti-launch-request",
            "ContentItemSelectionRequest",
            "ContentItemSelection",
            "LtiResourceLinkRequest",
            "LtiDeepLinkingRequest",
            "LtiDeepLinkingResponse",
            "LtiSubmissionReviewRequest",
            "LtiStartProctoring",
            "LtiStartAssessment",
            "LtiEndAssessment",
        }
    ),
}
CONTEXT_BASE = "http://purl.imsglobal.org/ctx/caliper/"
DATA_VERSIONS = {CONTEXT_BASE + "v1p1": "v1p1", CONTEXT_BASE + "v1p2": "v1p2"}


def is_subtype(kind: str, wanted: str) -> bool:
    """True if entity type `kind` is `wanted` or descends from it ("A|B" wants either)."""
    if "|" in wanted:
        return any(is_subtype(kind, w) for w in wanted.split("|"))
    if kind == wanted:
        return True
    entity = ENTITY.get(kind)
    return entity is not None and any(is_subtype(p, wanted) for p in entity.parents)


def properties_of(kind: str) -> dict[str, Kind]:
    """Every property an entity type has, its ancestors' included."""
    entity = ENTITY.get(kind)
    if entity is None:
        return dict(ENTITY["Entity"].properties)
    out: dict[str, Kind] = {}
    for parent in reversed(entity.parents):
        out.update(properties_of(parent))
    out.update(entity.properties)
    return out


def required_of(kind: str) -> tuple[str, ...]:
    entity = ENTITY.get(kind)
    if entity is None:
        return ()
    return entity.required + tuple(r for p in entity.parents for r in required_of(p))
