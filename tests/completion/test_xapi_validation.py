"""xAPI 1.0.3 statement rules, mapping and comparison, without a database.

The invalid cases mirror the ADL LRS conformance suite's statement tests (Data 2.2-2.6, 4.x):
each names the requirement it breaks; each valid case is one the suite expects to be stored.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from completion.ingest.xapi.attachments import (
    AttachmentError,
    check_attachments,
    check_signature,
    parse_multipart,
)
from completion.ingest.xapi.statements import (
    comparable,
    course_key,
    duration_seconds,
    normalise,
    parse_timestamp,
    same_statement,
    to_event,
    validate_statement,
    voided_target,
)

ADL = "http://adlnet.gov/expapi/verbs/"
UUID1 = "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"
AGENT = {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"}
ACCOUNT_AGENT = {"account": {"homePage": "https://lms.example.edu", "name": "ann"}}
ACTIVITY = {
    "objectType": "Activity",
    "id": "http://www.example.com/meetings/occurances/34534",
    "definition": {
        "type": "http://adlnet.gov/expapi/activities/meeting",
        "name": {"en-GB": "example meeting", "en-US": "example meeting"},
        "description": {"en-US": "An example meeting."},
        "moreInfo": "http://virtualmeeting.example.com/345256",
        "extensions": {"http://example.com/profiles/meetings/extension/location": "X:\\m"},
    },
}
BASE = {
    "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "actor": AGENT,
    "verb": {"id": ADL + "attended", "display": {"en-US": "attended"}},
    "object": ACTIVITY,
    "timestamp": "2013-05-18T05:32:34.804Z",
}
RESULT = {
    "score": {"scaled": 0.95, "raw": 95, "min": 0, "max": 100},
    "success": True,
    "completion": True,
    "response": "We agreed on some example actions.",
    "duration": "PT1H0M0S",
    "extensions": {"http://example.com/profiles/meetings/resultextensions/minutes": None},
}
CONTEXT = {
    "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
    "revision": "rev_10_3_2",
    "platform": "Example virtual meeting software",
    "language": "tlh",
    "statement": {"objectType": "StatementRef", "id": UUID1},
    "extensions": {"http://example.com/profiles/meetings/contextextensions/airspeed": "600mph"},
}
GROUP = {
    "objectType": "Group",
    "name": "Team PB",
    "member": [AGENT, {"openid": "http://toby.openid.example.org/"}],
}
SHA = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a"
ATTACHMENT = {
    "usageType": "http://example.com/attachment-usage/test",
    "display": {"en-US": "A test attachment"},
    "description": {"en-US": "A test attachment (description)"},
    "contentType": "text/plain; charset=ascii",
    "length": 27,
    "sha2": SHA,
    "fileUrl": "http://over.there.com/file.txt",
}
SUBSTATEMENT = {
    "objectType": "SubStatement",
    "actor": AGENT,
    "verb": {"id": ADL + "reported"},
    "object": ACTIVITY,
}
CHOICE = {
    "id": "http://example.com/q/1",
    "definition": {
        "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
        "interactionType": "choice",
        "correctResponsesPattern": ["golf[,]tetris"],
        "choices": [
            {"id": "golf", "description": {"en-US": "Golf Example"}},
            {"id": "tetris", "description": {"en-US": "Tetris Example"}},
        ],
    },
}


def make(**changes):
    """BASE with changes; a path like `object__definition__type`; `...` deletes the key."""
    statement = copy.deepcopy(BASE)
    for path, value in changes.items():
        target = statement
        keys = path.split("__")
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        if value is ...:
            target.pop(keys[-1], None)
        else:
            target[keys[-1]] = copy.deepcopy(value)
    return statement


def with_sub(**changes):
    """A statement whose object is SUBSTATEMENT with changes."""
    sub = copy.deepcopy(SUBSTATEMENT)
    sub.update(copy.deepcopy(changes))
    return make(object=sub)


INVALID = {
    # Data 2.2: formatting
    "statement not an object": [BASE],
    "actor missing (XAPI-00003)": make(actor=...),
    "verb missing (XAPI-00004)": make(verb=...),
    "object missing (XAPI-00005)": make(object=...),
    "null actor name (XAPI-00001)": make(actor={**AGENT, "name": None}),
    "null verb display value (XAPI-00001)": make(verb__display={"en-US": None}),
    "null context registration (XAPI-00001)": make(context={"registration": None}),
    "null moreInfo (XAPI-00001)": make(object__definition__moreInfo=None),
    "empty result object (XAPI-00001)": make(result={}),
    "string where a number is required": make(result={"score": {"max": "100"}}),
    "string where a boolean is required": make(result={"success": "true"}),
    "completion as the string false": make(result={"completion": "false"}),
    "key with the wrong case: Actor (XAPI-00008)": {**make(actor=...), "Actor": AGENT},
    "key with the wrong case: timeStamp": {**BASE, "timeStamp": "2013-05-18T05:32:34Z"},
    "key with the wrong case: Version": {**BASE, "Version": "1.0.3"},
    "unknown top-level key (XAPI-00010)": {**BASE, "colour": "red"},
    "interactionType with the wrong case (XAPI-00009)": make(
        object={**CHOICE, "definition": {**CHOICE["definition"], "interactionType": "choiCe"}}
    ),
    # Data 2.4.1 / 4.4: ids
    "id numeric": make(id=12345),
    "id an object": make(id={"key": "value"}),
    "id with too many digits": make(id="AA97B177-9383-4934-8543-0F91A7A028368"),
    "id with a non-hex letter": make(id="MA97B177-9383-4934-8543-0F91A7A02836"),
    "id empty string": make(id=""),
    # Data 2.4.2: actor, agents, groups, IFIs
    "actor objectType numeric": make(actor={**AGENT, "objectType": 123}),
    "actor objectType not Agent or Group": make(actor={**AGENT, "objectType": "Activity"}),
    "actor objectType wrong case": make(actor={**AGENT, "objectType": "agent"}),
    "actor name numeric": make(actor={**AGENT, "name": 123}),
    "agent without an identifier": make(actor={"objectType": "Agent", "name": "Ann"}),
    "agent with two identifiers": make(
        actor={"mbox": "mailto:a@example.com", "openid": "http://openid.example.org/1"}
    ),
    "mbox not a mailto IRI": make(actor={"mbox": "http://should.fail.com"}),
    "mbox without an address": make(actor={"mbox": "mailto:should.fail.com"}),
    "mbox_sha1sum an object": make(actor={"mbox_sha1sum": {"key": "value"}}),
    "mbox_sha1sum not a SHA-1": make(actor={"mbox_sha1sum": "xyz"}),
    "openid not a URI": make(actor={"openid": "ab=c://should.fail.com"}),
    "account homePage not an IRL": make(
        actor={"account": {"homePage": "ab=c://should.fail.com", "name": "a"}}
    ),
    "account without homePage": make(actor={"account": {"name": "ann"}}),
    "account name an object": make(
        actor={"account": {"homePage": "http://example.com", "name": {"key": "value"}}}
    ),
    "account without name": make(actor={"account": {"homePage": "http://example.com"}}),
    "agent with a member list": make(actor={**AGENT, "member": [AGENT]}),
    "anonymous group without members (XAPI-00035)": make(actor={"objectType": "Group"}),
    "group member not an array (XAPI-00036)": make(actor={"objectType": "Group", "member": AGENT}),
    "group member that is a group": make(
        actor={"objectType": "Group", "member": [{**GROUP, "mbox": "mailto:g@example.com"}]}
    ),
    "group with two identifiers (XAPI-00037)": make(
        actor={**GROUP, "mbox": "mailto:g@example.com", "openid": "http://o.example.org/g"}
    ),
    "group with an invalid identifier": make(actor={**GROUP, "mbox": "g@example.com"}),
    "group member without an identifier": make(
        actor={"objectType": "Group", "member": [{"name": "nobody"}]}
    ),
    # Data 2.4.3: verb
    "verb without id (XAPI-00044)": make(verb={"display": {"en-US": "attended"}}),
    "verb id not an IRI": make(verb={"id": "attended"}),
    "verb display a string (XAPI-00045)": make(verb__display="attended"),
    "verb display empty": make(verb__display={}),
    "verb display bad language tag": make(verb__display={"a12345": "attended"}),
    "verb unknown key": make(verb__Display={"en-US": "x"}),
    # Data 2.4.4: objects
    "object objectType unknown (XAPI-00046)": make(object={**ACTIVITY, "objectType": "Thing"}),
    "activity without id (XAPI-00047)": make(object={"objectType": "Activity"}),
    "activity id not an IRI": make(object={"id": "ab=c://should.fail.com"}),
    "activity id with spaces": make(object={"id": "http://example.com/a b"}),
    "definition a string (XAPI-00048)": make(object__definition="should error"),
    "definition name a number (XAPI-00056)": make(object__definition__name=12345),
    "definition name empty language map": make(object__definition__name={}),
    "definition description bad tag (XAPI-00059)": make(
        object__definition__description={"a12345": "x"}
    ),
    "definition type not an IRI (XAPI-00060)": make(object__definition__type="meeting"),
    "definition moreInfo not an IRL (XAPI-00061)": make(object__definition__moreInfo="info"),
    "definition extensions a string (XAPI-00057)": make(object__definition__extensions="x"),
    "extension key not an IRI (XAPI-00118)": make(object__definition__extensions={"id": "v"}),
    "definition unknown key": make(object__definition__colour="red"),
    "interactionType unknown (XAPI-00049)": make(
        object={**CHOICE, "definition": {**CHOICE["definition"], "interactionType": "essay"}}
    ),
    "interactionType numeric": make(
        object={**CHOICE, "definition": {**CHOICE["definition"], "interactionType": 1}}
    ),
    "correctResponsesPattern without interactionType (XAPI-00064)": make(
        object={"id": "http://example.com/q", "definition": {"correctResponsesPattern": ["a"]}}
    ),
    "choices without interactionType": make(
        object={"id": "http://example.com/q", "definition": {"choices": [{"id": "a"}]}}
    ),
    "correctResponsesPattern not strings (XAPI-00050)": make(
        object={**CHOICE, "definition": {**CHOICE["definition"], "correctResponsesPattern": [1]}}
    ),
    "choices not an array (XAPI-00055)": make(
        object={**CHOICE, "definition": {**CHOICE["definition"], "choices": {"id": "a"}}}
    ),
    "interaction component without id (XAPI-00058)": make(
        object={
            **CHOICE,
            "definition": {**CHOICE["definition"], "choices": [{"description": {"en": "a"}}]},
        }
    ),
    "interaction component ids repeated (XAPI-00058)": make(
        object={
            **CHOICE,
            "definition": {**CHOICE["definition"], "choices": [{"id": "a"}, {"id": "a"}]},
        }
    ),
    "interaction component description bad (XAPI-00062)": make(
        object={
            **CHOICE,
            "definition": {
                **CHOICE["definition"],
                "choices": [{"id": "a", "description": {"a12345": "x"}}],
            },
        }
    ),
    "scale on a choice interaction": make(
        object={**CHOICE, "definition": {**CHOICE["definition"], "scale": [{"id": "1"}]}}
    ),
    "agent object without objectType (XAPI-00065)": make(object={"mbox": "mailto:b@example.com"}),
    "group object without objectType": make(object={"member": [AGENT]}),
    "statementref without objectType (XAPI-00073)": make(object={"id": UUID1}),
    "statementref id not a UUID (XAPI-00072)": make(
        object={"objectType": "StatementRef", "id": "should fail"}
    ),
    "statementref without id": make(object={"objectType": "StatementRef"}),
    "statementref with an extra key": make(
        object={"objectType": "StatementRef", "id": UUID1, "definition": {}}
    ),
    "objectType StatementRef with wrong case": make(
        object={"objectType": "statementref", "id": UUID1}
    ),
    "substatement with id (XAPI-00070)": with_sub(id=UUID1),
    "substatement with stored (XAPI-00069)": with_sub(stored="2013-05-18T05:32:34Z"),
    "substatement with version (XAPI-00068)": with_sub(version="1.0.0"),
    "substatement with authority (XAPI-00067)": with_sub(authority=AGENT),
    "substatement in a substatement (XAPI-00071)": with_sub(object=SUBSTATEMENT),
    "substatement without actor (XAPI-00066)": make(
        object={"objectType": "SubStatement", "verb": BASE["verb"], "object": ACTIVITY}
    ),
    "substatement with an invalid verb": with_sub(verb={"id": "reported"}),
    "substatement with a bad timestamp": with_sub(timestamp="should fail"),
    # Data 2.4.5: result and score
    "score numeric (XAPI-00079)": make(result={"score": 12345}),
    "score a string": make(result={"score": "should fail"}),
    "scaled above 1 (XAPI-00083)": make(result={"score": {"scaled": 1.01}}),
    "scaled below -1": make(result={"score": {"scaled": -1.00001}}),
    "raw above max (XAPI-00082)": make(result={"score": {"raw": 0.68, "max": 0.65}}),
    "raw below min": make(result={"score": {"raw": 0.68, "min": 1.4}}),
    "min above max (XAPI-00081)": make(result={"score": {"min": 0.68, "max": 0.67}}),
    "min equal to max": make(result={"score": {"min": 5, "max": 5}}),
    "score boolean raw": make(result={"score": {"raw": True}}),
    "score unknown key": make(result={"score": {"percent": 50}}),
    "success the string true (XAPI-00074)": make(result={"success": "true"}),
    "response numeric (XAPI-00076)": make(result={"response": 12345}),
    "duration not ISO 8601 (XAPI-00077)": make(result={"duration": "PA1H0M0S"}),
    "duration numeric": make(result={"duration": 12345}),
    "duration in the alternative format": make(result={"duration": "P0000-00-00T01:00:00"}),
    "result extensions a string (XAPI-00078)": make(result={"extensions": "x"}),
    # Data 2.4.6: context
    "registration not a UUID (XAPI-00087)": make(context={"registration": "should fail"}),
    "registration an object": make(context={"registration": {"key": "v"}}),
    "instructor a string": make(context={"instructor": "should fail"}),
    "instructor an object without identifier": make(context={"instructor": {"key": "v"}}),
    "team an agent (XAPI-00088)": make(context={"team": AGENT}),
    "team a string": make(context={"team": "should fail"}),
    "contextActivities a string (XAPI-00086)": make(context={"contextActivities": "x"}),
    "contextActivities empty (XAPI-00095)": make(context={"contextActivities": {}}),
    "contextActivities unknown key (XAPI-00093)": make(
        context={"contextActivities": {"sibling": [ACTIVITY]}}
    ),
    "contextActivities value not an activity (XAPI-00094)": make(
        context={"contextActivities": {"parent": [AGENT]}}
    ),
    "revision numeric (XAPI-00089)": make(context={"revision": 12345}),
    "platform an object (XAPI-00090)": make(context={"platform": {"key": "v"}}),
    "revision with an agent object (XAPI-00084)": make(
        object={**AGENT, "objectType": "Agent"}, context={"revision": "r1"}
    ),
    "platform with a statementref object (XAPI-00085)": make(
        object={"objectType": "StatementRef", "id": UUID1}, context={"platform": "p"}
    ),
    "platform with a substatement object": make(object=SUBSTATEMENT, context={"platform": "p"}),
    "revision in a substatement about a group": with_sub(object=GROUP, context={"revision": "1"}),
    "language numeric": make(context={"language": 12345}),
    "language not RFC 5646 (XAPI-00091)": make(context={"language": "a12345"}),
    "context statement with lower-case objectType (XAPI-00092)": make(
        context={"statement": {"objectType": "statementref", "id": UUID1}}
    ),
    "context statement id not a UUID": make(
        context={"statement": {"objectType": "StatementRef", "id": "should fail"}}
    ),
    "context extensions key not an IRI": make(context={"extensions": {"airspeed": "600mph"}}),
    # Data 2.4.7-2.4.10: timestamp, stored, authority, version
    "timestamp a word (XAPI-00123)": make(timestamp="should fail"),
    "timestamp a US date": make(timestamp="01/011/2015"),
    "timestamp with -00 offset": make(timestamp="2008-09-15T15:53:00.601-00"),
    "timestamp with -0000 offset": make(timestamp="2008-09-15T15:53:00.601-0000"),
    "timestamp with -00:00 offset": make(timestamp="2008-09-15T15:53:00.601-00:00"),
    "timestamp on the 30th of February": make(timestamp="2015-02-30T10:00:00Z"),
    "timestamp without a time zone": make(timestamp="2015-02-03T10:00:00"),
    "stored not a timestamp": make(stored="yesterday"),
    "authority an agent without identifier": make(authority={"objectType": "Agent"}),
    "authority an identified group": make(
        authority={**GROUP, "openid": "http://openid.example.org/12345"}
    ),
    "authority group of one member (XAPI-00098)": make(
        authority={"objectType": "Group", "member": [AGENT]}
    ),
    "authority group of three members (XAPI-00100)": make(
        authority={"objectType": "Group", "member": [AGENT, AGENT, ACCOUNT_AGENT]}
    ),
    "version 2.0.0 (XAPI-00101)": make(version="2.0.0"),
    "version 1.1": make(version="1.1"),
    "version numeric": make(version=1.0),
    # Data 2.4.11: attachments
    "attachments not an array (XAPI-00025)": make(attachments=ATTACHMENT),
    "attachment without usageType (XAPI-00107)": make(
        attachments=[{k: v for k, v in ATTACHMENT.items() if k != "usageType"}]
    ),
    "attachment without display (XAPI-00106)": make(
        attachments=[{k: v for k, v in ATTACHMENT.items() if k != "display"}]
    ),
    "attachment display empty": make(attachments=[{**ATTACHMENT, "display": {}}]),
    "attachment description a string": make(attachments=[{**ATTACHMENT, "description": "x"}]),
    "attachment contentType not a media type (XAPI-00105)": make(
        attachments=[{**ATTACHMENT, "contentType": "text"}]
    ),
    "attachment length a string (XAPI-00102)": make(attachments=[{**ATTACHMENT, "length": "27"}]),
    "attachment length a fraction": make(attachments=[{**ATTACHMENT, "length": 2.5}]),
    "attachment sha2 not a hash (XAPI-00103)": make(attachments=[{**ATTACHMENT, "sha2": "abc"}]),
    "attachment fileUrl not an IRL (XAPI-00104)": make(
        attachments=[{**ATTACHMENT, "fileUrl": "over there"}]
    ),
    "signature attachment not octet-stream (XAPI-00115)": make(
        attachments=[{**ATTACHMENT, "usageType": "http://adlnet.gov/expapi/attachments/signature"}]
    ),
    # Data 2.3.2: voiding
    "voiding statement about an activity (XAPI-00017)": make(verb={"id": ADL + "voided"}),
}

VALID = {
    "the spec's simplest statement": {
        "actor": {"mbox": "mailto:xapi@adlnet.gov"},
        "verb": {"id": ADL + "created", "display": {"en-US": "created"}},
        "object": {"id": "http://example.adlnet.gov/xapi/example/activity"},
    },
    "full statement with result and context": make(result=RESULT, context=CONTEXT),
    "agent by account": make(actor=ACCOUNT_AGENT),
    "agent by mbox_sha1sum": make(
        actor={"mbox_sha1sum": "cd9b00a5611f94eaa7b1661edab976068e364975"}
    ),
    "agent by openid": make(actor={"openid": "http://openid.example.org/12345"}),
    "anonymous group": make(actor=GROUP),
    "identified group without members": make(
        actor={"objectType": "Group", "account": {"homePage": "http://ex.com", "name": "g"}}
    ),
    "agent as object": make(object={**AGENT, "objectType": "Agent"}),
    "group as object with instructor and team": make(
        object=GROUP, context={"instructor": GROUP, "team": GROUP}
    ),
    "statementref as object": make(object={"objectType": "StatementRef", "id": UUID1}),
    "substatement with result and context": with_sub(result=RESULT, context=CONTEXT),
    "voiding statement": make(
        verb={"id": ADL + "voided"}, object={"objectType": "StatementRef", "id": UUID1}
    ),
    "choice interaction": make(object=CHOICE),
    "likert interaction": make(
        object={
            "id": "http://example.com/likert",
            "definition": {
                "interactionType": "likert",
                "correctResponsesPattern": ["likert_3"],
                "scale": [{"id": "likert_0", "description": {"en-US": "It's OK"}}],
            },
        }
    ),
    "matching interaction": make(
        object={
            "id": "http://example.com/matching",
            "definition": {
                "interactionType": "matching",
                "source": [{"id": "ben"}],
                "target": [{"id": "1"}],
            },
        }
    ),
    "null and empty extension values": make(
        result={"extensions": {"http://example.com/null": None, "http://example.com/e": {}}}
    ),
    "single context activity not in an array": make(
        context={"contextActivities": {"parent": {"id": "http://example.com/course"}}}
    ),
    "every contextActivities key": make(
        context={
            "contextActivities": {
                k: [{"id": "http://example.com/" + k}]
                for k in ("parent", "grouping", "category", "other")
            }
        }
    ),
    "authority agent": make(authority=ACCOUNT_AGENT),
    "authority OAuth group of two": make(
        authority={
            "objectType": "Group",
            "member": [
                {"account": {"homePage": "http://example.com/xAPI/OAuth/Token", "name": "x"}},
                {"mbox": "mailto:bob@example.com"},
            ],
        }
    ),
    "version 1.0 and stored": make(version="1.0", stored="2013-05-18T05:32:34.804+00:00"),
    "timestamp with offset and long fraction": make(timestamp="2015-02-03T10:00:00.123456789+0530"),
    "timestamp in basic format": make(timestamp="20150203T100000Z"),
    "scaled at the bounds and raw unbounded": make(
        result={"score": {"scaled": -1.0, "raw": -500}, "success": False}
    ),
    "durations of the spec": make(result={"duration": "P3Y1M29DT4H35M59.14S"}),
    "duration in weeks": make(result={"duration": "P4W"}),
    "attachment with fileUrl": make(attachments=[ATTACHMENT]),
    "language tags of RFC 5646": make(
        verb__display={"en-US": "a", "zh-Hant-TW": "b", "sgn-BE-FR": "c", "x-private": "d"}
    ),
    "unicode names": make(actor={**AGENT, "name": "Ádám 🎓"}),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_statements_are_refused_with_a_reason(name):
    problems = validate_statement(INVALID[name])
    assert problems, name
    assert all(": " in p for p in problems)


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_statements_pass(name):
    assert validate_statement(VALID[name]) == []


def test_there_are_enough_cases_to_mirror_the_conformance_suite():
    assert len(INVALID) >= 60
    assert len(VALID) >= 15


def test_the_first_problem_names_where_it_is():
    problems = validate_statement(make(result={"score": {"scaled": 2}}))
    assert problems[0] == "statement.result.score.scaled: must lie between -1 and 1"
    nested = validate_statement(with_sub(actor={"mbox": "nope"}))
    assert nested[0].startswith("statement.object.actor.mbox:")


def test_timestamps_are_parsed_to_aware_datetimes():
    assert parse_timestamp("2013-05-18T05:32:34.804Z") == datetime(
        2013, 5, 18, 5, 32, 34, 804000, tzinfo=UTC
    )
    assert parse_timestamp("2013-05-18T07:32:34+02:00") == datetime(
        2013, 5, 18, 5, 32, 34, tzinfo=UTC
    )
    assert parse_timestamp("2013-05-18T05:32:34-00:00") is None


def test_durations_become_seconds():
    assert duration_seconds("PT4H35M59.14S") == pytest.approx(16559.14)
    assert duration_seconds("P1DT2H") == 93600.0
    assert duration_seconds("PT16559.14S") == pytest.approx(16559.14)
    assert duration_seconds("P") is None
    assert duration_seconds("PT") is None


# --- normalise, comparison, voiding ------------------------------------------------------------

STORED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://t.example", "name": "1"}}


def test_normalise_adds_what_the_lrs_sets_and_keeps_the_rest():
    statement = {k: v for k, v in BASE.items() if k not in {"id", "timestamp"}}
    full = normalise({**statement, "authority": ACCOUNT_AGENT}, stored=STORED, authority=AUTHORITY)
    assert len(full["id"]) == 36
    assert full["stored"] == full["timestamp"] == "2026-03-02T10:00:00.000Z"
    assert full["authority"] == AUTHORITY
    assert full["version"] == "1.0.0"
    assert full["object"] == ACTIVITY
    kept = normalise({**BASE, "version": "1.0.1"}, stored=STORED, authority=AUTHORITY)
    assert (kept["version"], kept["timestamp"]) == ("1.0.1", BASE["timestamp"])


def test_comparison_ignores_what_may_change_and_nothing_else():
    stored = normalise(make(actor=GROUP), stored=STORED, authority=AUTHORITY)
    again = make(actor={**GROUP, "member": list(reversed(GROUP["member"]))})
    again["verb"] = {"id": ADL + "attended", "display": {"fr": "a assisté"}}
    again["object"] = {"id": ACTIVITY["id"]}  # definition is not part of the statement
    again["timestamp"] = "2013-05-18T07:32:34.804+02:00"  # same instant
    assert same_statement(stored, again)
    assert same_statement(stored, {k: v for k, v in again.items() if k != "timestamp"})
    assert not same_statement(stored, {**again, "verb": {"id": ADL + "failed"}})
    assert not same_statement(stored, {**again, "timestamp": "2013-05-18T05:32:35Z"})
    assert not same_statement(stored, {**again, "result": {"duration": "PT1H"}})
    mbox_case = comparable({**BASE, "actor": {"mbox": "mailto:ann@EXAMPLE.com"}})
    assert mbox_case == comparable({**BASE, "actor": {"mbox": "mailto:ann@example.com"}})


def test_a_voiding_statement_names_its_target_in_lower_case():
    void = make(verb={"id": ADL + "voided"}, object={"objectType": "StatementRef", "id": UUID1})
    void["object"]["id"] = UUID1.upper()
    assert voided_target(void) == UUID1
    assert voided_target(BASE) is None


# --- mapping to events ------------------------------------------------------------------------


def event_of(statement):
    return to_event(normalise(statement, stored=STORED, authority=AUTHORITY))


@pytest.mark.parametrize(
    ("verb", "expected"),
    [
        (ADL + "completed", "completed"),
        (ADL + "passed", "passed"),
        (ADL + "failed", "failed"),
        (ADL + "answered", "submitted"),
        (ADL + "initialized", "launched"),
        ("https://w3id.org/xapi/adl/verbs/satisfied", "completed"),
        ("https://w3id.org/xapi/adl/verbs/waived", "completed"),
        ("https://w3id.org/xapi/video/verbs/played", "viewed"),
        ("https://w3id.org/xapi/video/verbs/seeked", "progressed"),
        ("http://id.tincanapi.com/verb/viewed", "viewed"),
        ("http://id.tincanapi.com/verb/replied", "posted"),
        ("http://activitystrea.ms/schema/1.0/submit", "submitted"),
        ("https://w3id.org/xapi/adl/verbs/logged-in", "logged_in"),
        ("http://example.com/verbs/juggled", "other"),
    ],
)
def test_common_verbs_map_to_finishline_verbs(verb, expected):
    assert event_of(make(verb={"id": verb})).verb == expected


def test_an_event_keeps_score_duration_success_item_and_actor():
    event = event_of(
        make(
            actor=ACCOUNT_AGENT,
            object={
                "id": "https://lms.example.edu/mod/quiz/view.php?id=4",
                "definition": {"name": {"en-US": "Quiz 4"}},
            },
            result={
                "score": {"raw": 4, "min": 0, "max": 10},
                "success": False,
                "duration": "PT12M30S",
            },
        )
    )
    assert (event.score, event.success, event.duration_seconds) == (0.4, False, 750.0)
    assert (event.item_id, event.item_kind, event.item_title) == (
        "https://lms.example.edu/mod/quiz/view.php?id=4",
        "assessment",
        "Quiz 4",
    )
    assert (event.actor.sub, event.actor.email) == ("ann", "")
    assert event.occurred_at == datetime(2013, 5, 18, 5, 32, 34, 804000, tzinfo=UTC)
    assert event_of(make(actor=AGENT)).actor.email == "ann@example.com"


@pytest.mark.parametrize(
    ("activity_type", "activity_id", "kind"),
    [
        ("http://adlnet.gov/expapi/activities/cmi.interaction", "http://x/q", "assessment"),
        ("http://adlnet.gov/expapi/activities/assessment", "http://x/a", "assessment"),
        ("https://w3id.org/xapi/video/activity-type/video", "http://x/v", "video"),
        ("http://id.tincanapi.com/activitytype/discussion", "http://x/d", "forum"),
        ("http://adlnet.gov/expapi/activities/module", "http://x/m", "module"),
        (
            "http://id.tincanapi.com/activitytype/lms/module",
            "https://m/mod/forum/view.php?id=2",
            "forum",
        ),
        ("", "https://moodle.example/mod/page/view.php?id=9", "page"),
        ("http://adlnet.gov/expapi/activities/meeting", "http://x/meet", "other"),
    ],
)
def test_item_kind_comes_from_the_activity_type_or_moodle_module(activity_type, activity_id, kind):
    definition = {"type": activity_type} if activity_type else {"name": {"en": "x"}}
    event = event_of(make(object={"id": activity_id, "definition": definition}))
    assert event.item_kind == kind


def test_course_key_comes_from_lti_extension_then_course_activity_then_grouping():
    lti = {"extensions": {"https://purl.imsglobal.org/spec/lti/claim/context": {"id": "ctx-1"}}}
    assert course_key(make(context=lti)) == "ctx-1"
    w3id = {"extensions": {"https://w3id.org/xapi/lti/context_id": "ctx-2"}}
    assert course_key(make(context=w3id)) == "ctx-2"
    moodle = {
        "contextActivities": {
            "grouping": [
                {"id": "https://moodle.example/"},
                {
                    "id": "https://moodle.example/course/view.php?id=7",
                    "definition": {"type": "http://id.tincanapi.com/activitytype/lms/course"},
                },
            ]
        }
    }
    assert course_key(make(context=moodle)) == "7"
    typed = {
        "contextActivities": {
            "parent": [
                {
                    "id": "https://cmi5.example/course/1",
                    "definition": {"type": "https://w3id.org/xapi/cmi5/activitytype/course"},
                }
            ]
        }
    }
    assert course_key(make(context=typed)) == "https://cmi5.example/course/1"
    grouping = {"contextActivities": {"grouping": {"id": "https://x.example/c"}}}
    assert course_key(make(context=grouping)) == "https://x.example/c"
    assert course_key(BASE) == ""


def test_groups_voiding_and_non_activity_objects_make_no_event():
    assert event_of(make(actor=GROUP)) is None
    assert event_of(make(object={**AGENT, "objectType": "Agent"})) is None
    void = make(verb={"id": ADL + "voided"}, object={"objectType": "StatementRef", "id": UUID1})
    assert event_of(void) is None


def test_scaled_scores_are_clamped_to_the_timeline_range():
    assert event_of(make(result={"score": {"scaled": -0.5}})).score == 0.0


# --- attachments ------------------------------------------------------------------------------


def multipart(statement_json, parts, boundary="abc123"):
    chunks = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode() + statement_json]
    for headers, body in parts:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        chunks.append(f"--{boundary}\r\n{head}\r\n".encode() + body)
    return b"\r\n".join(chunks) + f"\r\n--{boundary}--".encode()


def test_multipart_parts_are_matched_by_their_sha2():
    text = b"here is a simple attachment"
    sha = hashlib.sha256(text).hexdigest()
    body = multipart(
        b"{}",
        [
            (
                {
                    "Content-Type": "text/plain",
                    "Content-Transfer-Encoding": "binary",
                    "X-Experience-API-Hash": sha,
                },
                text,
            )
        ],
    )
    statement_json, parts = parse_multipart(body, 'multipart/mixed; boundary="abc123"')
    assert statement_json == b"{}"
    assert parts == {sha: text}
    attachment = {**ATTACHMENT, "sha2": sha, "length": len(text)}
    attachment.pop("fileUrl")
    check_attachments([make(attachments=[attachment])], parts)
    with pytest.raises(AttachmentError, match="neither a part nor a fileUrl"):
        check_attachments([make(attachments=[attachment])], {})
    with pytest.raises(AttachmentError, match="matches no attachment"):
        check_attachments([BASE], parts)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Content-Transfer-Encoding": "binary", "X-Experience-API-Hash": "0" * 64}, "match"),
        ({"Content-Transfer-Encoding": "binary"}, "X-Experience-API-Hash"),
        ({"X-Experience-API-Hash": "0" * 64}, "binary"),
    ],
)
def test_bad_multipart_parts_are_refused(headers, reason):
    body = multipart(b"{}", [(headers, b"data")])
    with pytest.raises(AttachmentError, match=reason):
        parse_multipart(body, "multipart/mixed; boundary=abc123")


def test_multipart_needs_a_boundary_and_json_first():
    with pytest.raises(AttachmentError, match="boundary"):
        parse_multipart(b"", "multipart/mixed")
    body = b"--b\r\nContent-Type: text/plain\r\n\r\n{}\r\n--b--"
    with pytest.raises(AttachmentError, match="application/json"):
        parse_multipart(body, "multipart/mixed; boundary=b")


def _signing_material():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signer")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    return key, der


def test_a_signed_statement_is_checked_against_its_jws():
    import jwt

    key, der = _signing_material()
    jws = jwt.api_jws.encode(
        json.dumps(BASE).encode(), key, algorithm="RS256", headers={"x5c": [der]}
    ).encode()
    signature = {
        "usageType": "http://adlnet.gov/expapi/attachments/signature",
        "display": {"en-US": "Signature"},
        "contentType": "application/octet-stream",
        "length": len(jws),
        "sha2": hashlib.sha256(jws).hexdigest(),
    }
    signed = {**BASE, "attachments": [signature]}
    assert validate_statement(signed) == []
    check_signature(signed, jws)
    with pytest.raises(AttachmentError, match="differs"):
        check_signature({**signed, "verb": {"id": ADL + "failed"}}, jws)
    tampered = jws[:-6] + (b"AAAAAA" if not jws.endswith(b"AAAAAA") else b"BBBBBB")
    with pytest.raises(AttachmentError, match="does not verify"):
        check_signature(signed, tampered)
    hs256 = jwt.api_jws.encode(json.dumps(BASE).encode(), "s" * 32, algorithm="HS256").encode()
    with pytest.raises(AttachmentError, match="RS256"):
        check_signature(signed, hs256)
    with pytest.raises(AttachmentError, match="compact JWS"):
        check_signature(signed, b"not a jws")
