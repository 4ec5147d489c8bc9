"""The xAPI statements resource over HTTP, with real Basic credentials of the service."""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import uuid
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.utils import timezone

from completion.events.store import match_pending
from completion.ingest.xapi.attachments import multipart_body as multipart_body_of
from completion.ingest.xapi.attachments import split_parts
from completion.models import Activity, PendingActivity, XapiStatement
from lti_tool.keys import credentials
from lti_tool.models import Course, Deployment, ServiceCredential
from lti_tool.services import register_platform, upsert_membership, upsert_person

ADL = "http://adlnet.gov/expapi/verbs/"
COURSE_EXTENSION = "https://purl.imsglobal.org/spec/lti/claim/context"


def statement(sub="ann", verb="completed", **extra):
    return {
        "id": str(uuid.uuid4()),
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": "https://lms.example.edu", "name": sub},
        },
        "verb": {"id": ADL + verb, "display": {"en-US": verb}},
        "object": {
            "id": "https://lms.example.edu/mod/page/view.php?id=3",
            "definition": {
                "name": {"en-US": "Page 3"},
                "type": "http://adlnet.gov/expapi/activities/module",
            },
        },
        "result": {"completion": True, "duration": "PT2M"},
        "context": {"extensions": {COURSE_EXTENSION: {"id": "course-1"}}},
        "timestamp": "2026-03-02T10:00:00.000Z",
        **extra,
    }


def basic(issued):
    return "Basic " + base64.b64encode(f"{issued.key}:{issued.secret}".encode()).decode()


def enrol(deployment, sub):
    person = upsert_person(deployment=deployment, sub=sub, name=sub.title())
    upsert_membership(
        course=Course.objects.get(deployment=deployment, context_id="course-1"),
        person=person,
        role="learner",
        lti_roles=[],
        status="active",
        at=timezone.now(),
        source="nrps",
    )
    return person


@pytest.fixture
def deployment(db):
    platform = register_platform(
        issuer="https://lms.example.edu",
        client_id="finishline",
        auth_login_url="https://lms.example.edu/auth",
        auth_token_url="https://lms.example.edu/token",
        jwks_url="https://lms.example.edu/jwks",
        deployment_ids=["d1", "d2"],
        actor="test",
    )
    first = Deployment.objects.get(platform=platform, deployment_id="d1")
    Course.objects.create(deployment=first, context_id="course-1")
    enrol(first, "ann")
    return first


@pytest.fixture
def lrs(deployment):
    issued = credentials.issue_credential(deployment=deployment, kind="xapi", name="LRS", actor="t")
    return {"HTTP_AUTHORIZATION": basic(issued), "HTTP_X_EXPERIENCE_API_VERSION": "1.0.3"}


def post(client, headers, body, path="/xapi/statements"):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def get(client, headers, query):
    return client.get(f"/xapi/statements?{query}", **headers)


def test_a_posted_statement_is_stored_once_and_lands_on_the_timeline(client, lrs):
    sent = statement()
    response = post(client, lrs, sent)
    assert response.status_code == 200
    assert response.json() == [sent["id"]]
    assert response["X-Experience-API-Version"] == "1.0.3"
    assert post(client, lrs, sent).status_code == 200  # identical again: idempotent
    assert XapiStatement.objects.count() == 1
    activity = Activity.objects.get()
    assert (activity.verb, activity.person.sub, activity.duration_seconds) == (
        "completed",
        "ann",
        120.0,
    )
    assert activity.item.kind == "module"
    stored = get(client, lrs, f"statementId={sent['id']}").json()
    assert {k: stored[k] for k in sent} == sent  # the original payload, verbatim
    assert stored["authority"]["objectType"] == "Agent"
    assert stored["stored"].endswith("Z")
    assert stored["version"] == "1.0.0"


def test_an_array_is_accepted_whole_or_rejected_whole(client, lrs):
    good, bad = statement(), statement()
    bad["result"]["score"] = {"scaled": 1.5}
    response = post(client, lrs, [good, bad])
    assert response.status_code == 400
    assert response.json()["error"] == (
        "statement 1: statement.result.score.scaled: must lie between -1 and 1"
    )
    assert not XapiStatement.objects.exists()
    assert not Activity.objects.exists()
    no_id = statement()
    del no_id["id"]
    ids = post(client, lrs, [good, statement(), no_id]).json()
    assert len(set(ids)) == 3
    assert ids[0] == good["id"]
    assert XapiStatement.objects.count() == Activity.objects.count() == 3


def test_a_batch_repeating_an_id_is_refused(client, lrs):
    sent = statement()
    assert post(client, lrs, [sent, sent]).status_code == 400
    assert not XapiStatement.objects.exists()


def test_put_with_statement_id_answers_204(client, lrs):
    statement_id = str(uuid.uuid4())
    body = {k: v for k, v in statement().items() if k != "id"}
    url = f"/xapi/statements?statementId={statement_id}"
    response = client.put(url, json.dumps(body), content_type="application/json", **lrs)
    assert response.status_code == 204
    assert response["X-Experience-API-Version"] == "1.0.3"
    assert str(XapiStatement.objects.get().statement_id) == statement_id
    assert (
        client.put(url, json.dumps(body), content_type="application/json", **lrs).status_code == 204
    )
    no_id = client.put("/xapi/statements", json.dumps(body), content_type="application/json", **lrs)
    assert no_id.status_code == 400
    other = {**body, "id": str(uuid.uuid4())}
    mismatch = client.put(url, json.dumps(other), content_type="application/json", **lrs)
    assert mismatch.status_code == 400


def test_the_same_id_with_other_content_is_a_conflict_and_changes_nothing(client, lrs):
    sent = statement()
    post(client, lrs, sent)
    before = get(client, lrs, f"statementId={sent['id']}").json()
    response = post(client, lrs, [statement(), {**sent, "verb": {"id": ADL + "failed"}}])
    assert response.status_code == 409
    assert get(client, lrs, f"statementId={sent['id']}").json() == before
    assert XapiStatement.objects.count() == 1
    # What the LRS may change (display, definition, timestamp zone) is not a difference.
    same = {**sent, "verb": {"id": ADL + "completed"}, "timestamp": "2026-03-02T11:00:00+01:00"}
    assert post(client, lrs, same).status_code == 200


def test_the_version_header_is_required_and_must_be_1_0_x(client, lrs):
    without = {k: v for k, v in lrs.items() if k != "HTTP_X_EXPERIENCE_API_VERSION"}
    response = post(client, without, statement())
    assert response.status_code == 400
    assert "X-Experience-API-Version" in response.json()["error"]
    assert response["X-Experience-API-Version"] == "1.0.3"
    assert (
        post(client, {**lrs, "HTTP_X_EXPERIENCE_API_VERSION": "2.0.0"}, statement()).status_code
        == 400
    )
    assert (
        post(client, {**lrs, "HTTP_X_EXPERIENCE_API_VERSION": "1.0"}, statement()).status_code
        == 200
    )
    assert not XapiStatement.objects.exclude(payload__version="1.0.0").exists()


def test_voiding_removes_the_activity_from_the_timeline_but_keeps_the_statement(client, lrs):
    target = statement()
    post(client, lrs, target)
    assert Activity.objects.count() == 1
    void = statement(verb="voided")
    void["object"] = {"objectType": "StatementRef", "id": target["id"].upper()}
    del void["context"], void["result"]
    assert post(client, lrs, void).status_code == 200
    assert not Activity.objects.exists()
    assert XapiStatement.objects.get(statement_id=target["id"]).voided
    assert get(client, lrs, f"statementId={target['id']}").status_code == 404
    assert get(client, lrs, f"voidedStatementId={target['id']}").json()["id"] == target["id"]
    assert get(client, lrs, f"voidedStatementId={void['id']}").status_code == 404
    # A voiding statement cannot be voided.
    again = {
        **void,
        "id": str(uuid.uuid4()),
        "object": {"objectType": "StatementRef", "id": void["id"]},
    }
    assert post(client, lrs, again).status_code == 400
    assert get(client, lrs, f"statementId={void['id']}").status_code == 200


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-03-02T15:30:00.123456789+05:30",  # nanoseconds and an offset
        "2026-03-01T23:59:59.9999999-09:30",  # another day in UTC, fraction truncated
        None,  # no timestamp: the LRS sets it to `stored`
    ],
)
def test_voiding_finds_the_event_whatever_form_its_timestamp_took(client, lrs, stamp):
    # The event store is keyed by time: voiding re-reads the stored timestamp, which must
    # give the very instant the event was stored under.
    target = statement()
    if stamp is None:
        del target["timestamp"]
    else:
        target["timestamp"] = stamp
    kept = statement()
    assert post(client, lrs, [target, kept]).status_code == 200
    assert Activity.objects.count() == 2
    void = statement(verb="voided", object={"objectType": "StatementRef", "id": target["id"]})
    del void["context"], void["result"]
    assert post(client, lrs, void).status_code == 200
    assert list(Activity.objects.values_list("source_id", flat=True)) == [kept["id"]]


def test_a_statement_arriving_after_its_voiding_statement_is_stored_voided(client, lrs):
    late = statement()
    void = statement(verb="voided")
    void["object"] = {"objectType": "StatementRef", "id": late["id"]}
    assert post(client, lrs, void).status_code == 200  # the target is not there yet: accepted
    assert post(client, lrs, late).status_code == 200
    assert XapiStatement.objects.get(statement_id=late["id"]).voided
    assert not Activity.objects.exists()


def test_voiding_in_the_same_batch_keeps_the_target_off_the_timeline(client, lrs):
    target = statement()
    void = statement(verb="voided")
    void["object"] = {"objectType": "StatementRef", "id": target["id"]}
    assert post(client, lrs, [target, void]).status_code == 200
    assert not Activity.objects.exists()
    assert XapiStatement.objects.filter(voided=True).count() == 1


def test_an_oversized_body_gets_413(client, lrs, settings):
    settings.FINISHLINE = {**settings.FINISHLINE, "XAPI_MAX_BODY": 2000}
    response = post(client, lrs, [statement() for _ in range(5)])
    assert response.status_code == 413
    assert not XapiStatement.objects.exists()
    assert post(client, lrs, statement()).status_code == 200


def test_a_flood_gets_429_per_credential_with_retry_after(client, lrs, deployment):
    ServiceCredential.objects.update(rate_limit_per_minute=2)
    cache.clear()
    statuses = [post(client, lrs, statement()).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    flooded = post(client, lrs, statement())
    assert 1 <= int(flooded["Retry-After"]) <= 60
    other = credentials.issue_credential(deployment=deployment, kind="xapi", name="2", actor="t")
    assert post(client, {**lrs, "HTTP_AUTHORIZATION": basic(other)}, statement()).status_code == 200


def test_unknown_wrong_kind_or_revoked_credentials_get_401(client, lrs, deployment):
    wrong = {**lrs, "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"nobody:nothing").decode()}
    response = post(client, wrong, statement())
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert post(client, {**lrs, "HTTP_AUTHORIZATION": "Bearer x"}, statement()).status_code == 401
    caliper = credentials.issue_credential(
        deployment=deployment, kind="caliper", name="c", actor="t"
    )
    assert (
        post(client, {**lrs, "HTTP_AUTHORIZATION": basic(caliper)}, statement()).status_code == 401
    )
    credential = ServiceCredential.objects.get(kind="xapi")
    credentials.revoke_credential(credential=credential, actor="t")
    assert post(client, lrs, statement()).status_code == 401
    assert not XapiStatement.objects.exists()


def test_a_credential_of_one_deployment_cannot_read_anothers_statements(client, lrs, deployment):
    sent = statement()
    post(client, lrs, sent)
    other = Deployment.objects.get(deployment_id="d2")
    issued = credentials.issue_credential(deployment=other, kind="xapi", name="2", actor="t")
    theirs = {**lrs, "HTTP_AUTHORIZATION": basic(issued)}
    assert get(client, theirs, f"statementId={sent['id']}").status_code == 404
    assert get(client, theirs, "limit=10").json()["statements"] == []
    assert get(client, lrs, "limit=10").json()["statements"][0]["id"] == sent["id"]
    # The same id in the other deployment is a different statement, not a conflict.
    assert post(client, theirs, {**sent, "verb": {"id": ADL + "failed"}}).status_code == 200


def test_an_unknown_actor_waits_and_is_matched_after_the_roster_sync(client, lrs, deployment):
    stranger = statement(sub="newcomer")
    assert post(client, lrs, stranger).status_code == 200
    assert not Activity.objects.exists()
    pending = PendingActivity.objects.get()
    assert (pending.source_id, pending.course_key) == (stranger["id"], "course-1")
    newcomer = enrol(deployment, "newcomer")
    assert match_pending(deployment=deployment).stored == 1
    assert not PendingActivity.objects.exists()
    assert Activity.objects.get().person == newcomer


def test_an_actor_is_matched_by_mbox_too(client, lrs, deployment):
    upsert_person(deployment=deployment, sub="zed", email="zed@example.edu")
    by_mail = statement()
    by_mail["actor"] = {"mbox": "mailto:zed@example.edu"}
    assert post(client, lrs, by_mail).status_code == 200
    assert Activity.objects.get().person.sub == "zed"


def test_malformed_bodies_are_refused(client, lrs):
    assert post(client, lrs, []).status_code == 400
    duplicated = (
        '{"actor": {"mbox": "mailto:a@b.example"}, "actor": {"mbox": "mailto:c@d.example"}}'
    )
    response = client.post("/xapi/statements", duplicated, content_type="application/json", **lrs)
    assert response.status_code == 400
    assert "repeats a key" in response.json()["error"]
    text = client.post("/xapi/statements", "{}", content_type="text/plain", **lrs)
    assert text.status_code == 400
    assert (
        client.post("/xapi/statements", "{", content_type="application/json", **lrs).status_code
        == 400
    )
    assert client.delete("/xapi/statements", **lrs).status_code == 405


def multipart_body(statements, parts, boundary="xapi-boundary"):
    chunks = [
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode()
        + json.dumps(statements).encode()
    ]
    for content_type, data, digest in parts:
        chunks.append(
            f"--{boundary}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: binary\r\n"
            f"X-Experience-API-Hash: {digest}\r\n\r\n".encode()
            + data
        )
    return b"\r\n".join(chunks) + f"\r\n--{boundary}--\r\n".encode()


def test_attachments_in_multipart_are_accepted_when_their_sha2_matches(client, lrs):
    data = b"\x89PNG binary \r\n--not-a-boundary\r\n bytes"
    digest = hashlib.sha256(data).hexdigest()
    sent = statement()
    sent["attachments"] = [
        {
            "usageType": "http://id.tincanapi.com/attachment/certificate",
            "display": {"en-US": "Certificate"},
            "contentType": "image/png",
            "length": len(data),
            "sha2": digest,
        }
    ]
    kind = "multipart/mixed; boundary=xapi-boundary"
    good = multipart_body([sent], [("image/png", data, digest)])
    response = client.post("/xapi/statements", good, content_type=kind, **lrs)
    assert response.status_code == 200, response.content
    assert XapiStatement.objects.get().payload["attachments"][0]["sha2"] == digest
    other = {**sent, "id": str(uuid.uuid4())}
    forged = multipart_body([other], [("image/png", data + b"!", digest)])
    assert client.post("/xapi/statements", forged, content_type=kind, **lrs).status_code == 400
    missing = multipart_body([other], [])
    assert client.post("/xapi/statements", missing, content_type=kind, **lrs).status_code == 400
    as_json = post(client, lrs, other)
    assert as_json.status_code == 400
    assert "neither a part nor a fileUrl" in as_json.json()["error"]
    extra = multipart_body([statement()], [("image/png", data, digest)])
    assert client.post("/xapi/statements", extra, content_type=kind, **lrs).status_code == 400
    assert XapiStatement.objects.count() == 1


def attached(sent, data, content_type="application/pdf"):
    digest = hashlib.sha256(data).hexdigest()
    sent["attachments"] = [
        {
            "usageType": "http://id.tincanapi.com/attachment/certificate",
            "display": {"en-US": "Certificate"},
            "contentType": content_type,
            "length": len(data),
            "sha2": digest,
        }
    ]
    return digest


def read_multipart(response):
    """The JSON part and the attachment parts {sha2: (content type, data)} of a response."""
    kind = response["Content-Type"]
    assert kind.startswith("multipart/mixed")
    parts = split_parts(response.content, kind.split('boundary="')[1].rstrip('"').encode())
    assert parts[0].headers["content-type"] == "application/json"
    rest = {}
    for part in parts[1:]:
        assert part.headers["content-transfer-encoding"] == "binary"
        rest[part.headers["x-experience-api-hash"]] = (part.headers["content-type"], part.body)
    return json.loads(parts[0].body), rest


def test_attachments_true_sends_the_stored_data_back_once_per_hash(client, lrs):
    data = b"%PDF-1.7 \r\n--not-a-boundary\r\n binary \x00\xff"
    first, second, plain = statement(), statement(verb="attempted"), statement(verb="passed")
    digest = attached(first, data)
    attached(second, data)  # the same file with another statement: stored and sent once
    kind = "multipart/mixed; boundary=xapi-boundary"
    body = multipart_body([first, second], [("application/pdf", data, digest)])
    assert client.post("/xapi/statements", body, content_type=kind, **lrs).status_code == 200
    assert post(client, lrs, plain).status_code == 200

    one, parts = read_multipart(get(client, lrs, f"statementId={first['id']}&attachments=true"))
    assert one["id"] == first["id"]
    assert parts == {digest: ("application/pdf", data)}
    assert hashlib.sha256(parts[digest][1]).hexdigest() == digest

    result, parts = read_multipart(get(client, lrs, "attachments=true"))
    assert {s["id"] for s in result["statements"]} == {first["id"], second["id"], plain["id"]}
    assert parts == {digest: ("application/pdf", data)}

    without = get(client, lrs, f"statementId={plain['id']}&attachments=true")
    assert read_multipart(without)[1] == {}
    as_json = get(client, lrs, f"statementId={first['id']}")
    assert as_json["Content-Type"] == "application/json"
    assert as_json.json()["attachments"][0]["sha2"] == digest
    assert get(client, lrs, "attachments=maybe").status_code == 400


def test_attachments_of_another_deployment_are_not_sent(client, lrs, deployment):
    data = b"secret certificate"
    sent = statement()
    digest = attached(sent, data)
    kind = "multipart/mixed; boundary=xapi-boundary"
    body = multipart_body([sent], [("application/pdf", data, digest)])
    assert client.post("/xapi/statements", body, content_type=kind, **lrs).status_code == 200
    other = Deployment.objects.get(deployment_id="d2")
    theirs = credentials.issue_credential(deployment=other, kind="xapi", name="x", actor="t")
    headers = {**lrs, "HTTP_AUTHORIZATION": basic(theirs)}
    # The other deployment stores a statement naming the same hash, sent as a fileUrl only.
    mine = statement()
    attached(mine, data)
    mine["attachments"][0]["fileUrl"] = "https://files.example/cert.pdf"
    assert post(client, headers, mine).status_code == 200
    result, parts = read_multipart(get(client, headers, "attachments=true"))
    assert [s["id"] for s in result["statements"]] == [mine["id"]]
    assert parts == {}


def referring(to, sub="bob", verb="attempted"):
    """A statement by someone else whose object is a StatementRef to `to`."""
    sent = statement(sub=sub, verb=verb)
    sent["object"] = {"objectType": "StatementRef", "id": to["id"].upper()}
    del sent["result"]
    return sent


def ids_of(client, lrs, query):
    response = get(client, lrs, query)
    assert response.status_code == 200, response.content
    return {s["id"] for s in response.json()["statements"]}


def test_statements_targeting_a_match_match_too_at_any_depth(client, lrs):
    original = statement()  # ann completed page 3
    confirmed = referring(original)  # bob attempted <original>
    endorsed = referring(confirmed, sub="cy", verb="experienced")  # cy experienced <confirmed>
    unrelated = statement(sub="dee", verb="passed")
    for sent in (original, confirmed, endorsed, unrelated):
        assert post(client, lrs, sent).status_code == 200
    chain = {original["id"], confirmed["id"], endorsed["id"]}
    assert ids_of(client, lrs, urlencode({"verb": ADL + "completed"})) == chain
    assert ids_of(client, lrs, agent_query(account("ann"))) == chain
    page = "https://lms.example.edu/mod/page/view.php?id=3"
    assert ids_of(client, lrs, urlencode({"activity": page})) == chain | {unrelated["id"]}
    # Bob's own statement matches by verb; cy's targets it; ann's original does not.
    expected = {confirmed["id"], endorsed["id"]}
    assert ids_of(client, lrs, urlencode({"verb": ADL + "attempted"})) == expected
    # Time and sequence apply to the targeting statements themselves.
    later = XapiStatement.objects.get(statement_id=original["id"]).stored_at
    since = urlencode({"verb": ADL + "completed", "since": later.isoformat()})
    assert ids_of(client, lrs, since) == {confirmed["id"], endorsed["id"]}
    limited = get(client, lrs, urlencode({"verb": ADL + "completed", "limit": 2}))
    assert len(limited.json()["statements"]) == 2
    assert limited.json()["more"]


def test_a_voided_match_is_not_returned_but_what_targets_it_is(client, lrs):
    original = statement()
    confirmed = referring(original)
    assert post(client, lrs, [original, confirmed]).status_code == 200
    void = statement(verb="voided")
    void["object"] = {"objectType": "StatementRef", "id": original["id"]}
    del void["context"], void["result"]
    assert post(client, lrs, void).status_code == 200
    found = ids_of(client, lrs, urlencode({"verb": ADL + "completed"}))
    assert found == {confirmed["id"], void["id"]}
    # A single statement is fetched by id alone: no StatementRef rule.
    single = get(client, lrs, f"statementId={confirmed['id']}").json()
    assert single["object"]["objectType"] == "StatementRef"


def test_get_answers_with_consistent_through_and_refuses_mixed_parameters(client, lrs):
    sent = statement()
    post(client, lrs, sent)
    found = get(client, lrs, f"statementId={sent['id']}&format=exact")
    assert found.status_code == 200
    assert found["Content-Type"] == "application/json"
    assert found["X-Experience-API-Consistent-Through"]
    assert get(client, lrs, f"statementId={sent['id']}&verb={ADL}completed").status_code == 400
    assert get(client, lrs, "statementId=not-a-uuid")["X-Experience-API-Consistent-Through"]
    result = get(client, lrs, f"verb={ADL}completed&ascending=true").json()
    assert [s["id"] for s in result["statements"]] == [sent["id"]]
    assert get(client, lrs, f"verb={ADL}failed").json() == {"statements": [], "more": ""}


def test_about_lists_the_versions_without_credentials(client, db):
    response = client.get("/xapi/about")
    assert response.status_code == 200
    assert "1.0.3" in response.json()["version"]
    assert response["X-Experience-API-Version"] == "1.0.3"


def account(name):
    return {"objectType": "Agent", "account": {"homePage": "https://lms.example.edu", "name": name}}


def agent_query(agent, **extra):
    return urlencode({"agent": json.dumps(agent), **extra})


def test_the_agent_filter_matches_actor_or_object_and_more_places_when_related(client, lrs):
    by_ann = statement("ann")
    by_bob = statement("bob")
    about_ann = statement("bob", verb="interacted", object=account("ann"))
    ann_instructs = statement("bob", context={"instructor": {"account": account("ann")["account"]}})
    group_named_ann = statement("x", actor={**account("ann"), "objectType": "Group"})
    hashed = statement("y", actor={"mbox_sha1sum": "ABCDEF0123456789ABCDEF0123456789ABCDEF01"})
    hashed_instructs = statement(
        "z", context={"instructor": {"mbox_sha1sum": "AbCdEf0123456789abcdef0123456789ABCDEF01"}}
    )
    sent = [by_ann, by_bob, about_ann, ann_instructs, group_named_ann, hashed, hashed_instructs]
    assert post(client, lrs, sent).status_code == 200

    def ids(query):
        response = get(client, lrs, query)
        assert response.status_code == 200, response.content
        return {s["id"] for s in response.json()["statements"]}

    # The agent is the actor or the object; a Group with the same account is someone else.
    assert ids(agent_query({"account": account("ann")["account"]})) == {
        by_ann["id"],
        about_ann["id"],
    }
    assert ids(agent_query(account("ann"), related_agents="true")) == {
        by_ann["id"],
        about_ann["id"],
        ann_instructs["id"],
    }
    assert ids(agent_query({**account("ann"), "objectType": "Group"})) == {group_named_ann["id"]}
    # Hex IFIs match whatever their case.
    hex_id = {"mbox_sha1sum": "abcdef0123456789abcdef0123456789abcdef01"}
    assert ids(agent_query(hex_id)) == {hashed["id"]}
    assert ids(agent_query(hex_id, related_agents="true")) == {
        hashed["id"],
        hashed_instructs["id"],
    }
    assert ids(agent_query(account("ann"), verb=ADL + "interacted")) == {about_ann["id"]}


def test_the_migration_fills_the_keys_of_statements_stored_before_it(client, lrs):
    about_ann = statement("bob", verb="interacted", object=account("ann"))
    by_ann = statement("ann")
    assert post(client, lrs, [about_ann, by_ann]).status_code == 200
    XapiStatement.objects.update(actor_key="", object_key="")
    assert get(client, lrs, agent_query(account("ann"))).json()["statements"] == []

    from django.apps import apps
    from django.db import connection

    migration = importlib.import_module("completion.migrations.0009_xapi_lookup_keys")
    migration.fill_keys(apps, SimpleNamespace(connection=connection))  # all it uses

    found = get(client, lrs, agent_query(account("ann"))).json()["statements"]
    assert {s["id"] for s in found} == {about_ann["id"], by_ann["id"]}
    activity = get(client, lrs, "activity=https://lms.example.edu/mod/page/view.php?id=3")
    assert [s["id"] for s in activity.json()["statements"]] == [by_ann["id"]]


@pytest.mark.parametrize(
    "agent",
    [
        "not json",
        json.dumps(["ann"]),
        json.dumps({"name": "Ann"}),  # no identifier
        json.dumps({"mbox": "mailto:a@example.edu", "openid": "https://id.example/a"}),
        json.dumps({"account": {"name": "ann"}}),
        json.dumps({"objectType": "Activity", "mbox": "mailto:a@example.edu"}),
    ],
)
def test_a_malformed_agent_parameter_is_refused(client, lrs, agent):
    response = get(client, lrs, urlencode({"agent": agent}))
    assert response.status_code == 400
    assert response.json()["error"].startswith("agent")


def test_more_pages_through_a_query_without_gaps_or_repeats(client, lrs, deployment):
    batch = [statement() for _ in range(5)]  # stored in one request: the same stored time
    assert post(client, lrs, batch).status_code == 200
    first = get(client, lrs, f"verb={ADL}completed&limit=2").json()
    assert len(first["statements"]) == 2
    assert first["more"].startswith("/xapi/statements?more=")
    post(client, lrs, statement())  # stored after the first page: not in this query
    seen = [s["id"] for s in first["statements"]]
    more = first["more"]
    pages = 1
    while more:
        page = client.get(more, **lrs)
        assert page.status_code == 200
        body = page.json()
        seen += [s["id"] for s in body["statements"]]
        more = body["more"]
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(s["id"] for s in batch)
    assert len(set(seen)) == 5

    # Ascending pages come back in the opposite order.
    up = get(client, lrs, f"verb={ADL}completed&limit=4&ascending=true").json()
    rest = client.get(up["more"], **lrs).json()
    assert [s["id"] for s in up["statements"] + rest["statements"]][:5] == list(reversed(seen))

    # A forged link, or one replayed by another deployment's credential, is refused.
    assert client.get(first["more"] + "x", **lrs).status_code == 400
    other = Deployment.objects.get(deployment_id="d2")
    issued = credentials.issue_credential(deployment=other, kind="xapi", name="LRS 2", actor="t")
    foreign = {**lrs, "HTTP_AUTHORIZATION": basic(issued)}
    refused = client.get(first["more"], **foreign)
    assert refused.status_code == 400
    assert "another deployment" in refused.json()["error"]


def test_related_activities_widens_the_activity_filter_to_context_and_substatements(client, lrs):
    course = "https://lms.example.edu/course/view.php?id=7"
    page = "https://lms.example.edu/mod/page/view.php?id=3"

    def in_course(**context_activities):
        sent = statement()
        sent["context"] = {**sent["context"], "contextActivities": context_activities}
        return sent

    the_course = statement(object={"id": course})
    parent_list = in_course(parent=[{"id": "https://elsewhere.example/x"}, {"id": course}])
    grouping_single = in_course(grouping={"id": course})  # one Activity instead of an array
    other_course = in_course(category=[{"id": course + "0"}])
    sub = statement(
        verb="interacted",
        object={
            "objectType": "SubStatement",
            "actor": account("ann"),
            "verb": {"id": ADL + "completed"},
            "object": {"id": course},
        },
    )
    sent = [the_course, parent_list, grouping_single, other_course, sub]
    assert post(client, lrs, sent).status_code == 200, post(client, lrs, sent).content

    def ids(query):
        response = get(client, lrs, query)
        assert response.status_code == 200, response.content
        return {s["id"] for s in response.json()["statements"]}

    assert ids(urlencode({"activity": course})) == {the_course["id"]}
    assert ids(urlencode({"activity": course, "related_activities": "true"})) == {
        the_course["id"],
        parent_list["id"],
        grouping_single["id"],
        sub["id"],
    }
    # Three of them have the page itself as their object.
    assert len(ids(urlencode({"activity": page}))) == 3
    assert get(client, lrs, "related_activities=maybe").status_code == 400


def test_format_shapes_single_statements_queries_and_their_more_pages(client, lrs):
    batch = [statement() for _ in range(3)]
    assert post(client, lrs, batch).status_code == 200
    one = get(client, lrs, f"statementId={batch[0]['id']}&format=ids").json()
    assert one["verb"] == {"id": ADL + "completed"}
    assert one["object"] == {"id": batch[0]["object"]["id"]}  # ids: an Activity by id alone
    first = get(client, lrs, "format=ids&limit=2").json()
    assert all(s["verb"] == {"id": ADL + "completed"} for s in first["statements"])
    rest = client.get(first["more"], **lrs).json()
    assert rest["statements"][0]["verb"] == {"id": ADL + "completed"}
    canonical = client.get(
        "/xapi/statements?format=canonical", HTTP_ACCEPT_LANGUAGE="en", **lrs
    ).json()
    assert canonical["statements"][0]["object"]["definition"]["name"] == {"en-US": "Page 3"}
    assert get(client, lrs, "format=full").status_code == 400


def test_a_stored_content_type_cannot_add_headers_to_a_multipart_response():
    body, kind = multipart_body_of(b"{}", [("ab" * 32, "text/plain\r\nX-Evil: 1", b"data")])
    boundary = kind.split('boundary="')[1].rstrip('"').encode()
    parts = split_parts(body, boundary)
    assert parts[1].headers == {
        "content-type": "application/octet-stream",
        "content-transfer-encoding": "binary",
        "x-experience-api-hash": "ab" * 32,
    }
    assert parts[1].body == b"data"
