"""Lookup keys of stored xAPI statements: the same agent or activity, the same key."""

from __future__ import annotations

from completion.ingest.xapi.statements import activity_key, actor_key, agent_key, object_key

ANN = {"homePage": "https://lms.example.edu", "name": "ann"}


def test_an_actor_without_object_type_is_an_agent_and_hex_ifis_ignore_case():
    assert actor_key({"actor": {"account": ANN}}) == agent_key(
        {"objectType": "Agent", "account": ANN}, None
    )
    assert agent_key({"objectType": "Group", "account": ANN}, None) != agent_key(
        {"objectType": "Agent", "account": ANN}, None
    )
    assert agent_key({"mbox_sha1sum": "ABCDEF01"}, "Agent") == agent_key(
        {"mbox_sha1sum": "abcdef01"}, "Agent"
    )
    # The account's two parts are kept apart: no name can pass for part of a home page.
    assert agent_key({"account": {"homePage": "a\nb", "name": "c"}}, "Agent") != agent_key(
        {"account": {"homePage": "a", "name": "b\nc"}}, "Agent"
    )


def test_objects_are_keyed_as_activities_or_agents_and_others_get_none():
    page = "https://lms.example.edu/mod/page/view.php?id=3"
    assert object_key({"object": {"id": page}}) == activity_key(page)
    assert object_key({"object": {"objectType": "Activity", "id": page}}) == activity_key(page)
    assert object_key({"object": {"objectType": "Agent", "account": ANN}}) == agent_key(
        {"objectType": "Agent", "account": ANN}, None
    )
    assert object_key({"object": {"objectType": "StatementRef", "id": page}}) is None
    assert object_key({"object": {"account": ANN}}) != agent_key({"account": ANN}, "Agent")
    anonymous = {"objectType": "Group", "member": [{"account": ANN}]}
    assert actor_key({"actor": anonymous}) is None
    assert len(activity_key("x" * 5000)) == 32  # any length of IRI fits the index
