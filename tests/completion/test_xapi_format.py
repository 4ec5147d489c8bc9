"""The statement formats an LRS returns: exact, ids and canonical (xAPI 1.0.3 §2.1.3)."""

from __future__ import annotations

from completion.ingest.xapi.formats import formatted, pick_language, preferred_languages

STATEMENT = {
    "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
    "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.edu"},
    "verb": {
        "id": "http://adlnet.gov/expapi/verbs/answered",
        "display": {"en-US": "answered", "fr": "a répondu"},
    },
    "object": {
        "id": "https://example.edu/quiz/1/q/2",
        "definition": {
            "name": {"en-US": "Question 2", "fr": "Question 2 (fr)"},
            "description": {"en-GB": "Pick one", "de": "Wähle eine"},
            "interactionType": "choice",
            "choices": [{"id": "a", "description": {"en-US": "Red", "fr": "Rouge"}}],
        },
    },
    "result": {"success": True},
    "context": {
        "instructor": {"name": "Ivy", "account": {"homePage": "https://lms", "name": "ivy"}},
        "team": {
            "objectType": "Group",
            "name": "Team A",
            "member": [{"name": "Bo", "mbox": "mailto:bo@example.edu"}],
        },
        "contextActivities": {
            "parent": [
                {"id": "https://example.edu/quiz/1", "definition": {"name": {"en": "Quiz"}}}
            ],
            "grouping": {"id": "https://example.edu/course", "definition": {"name": {"en": "C"}}},
        },
    },
    "authority": {"objectType": "Agent", "name": "LRS", "account": {"homePage": "h", "name": "n"}},
}


def test_exact_is_the_statement_as_stored_with_context_activities_as_arrays():
    out = formatted(STATEMENT, "exact")
    activities = STATEMENT["context"]["contextActivities"]
    assert out["context"]["contextActivities"] == {
        "parent": activities["parent"],
        "grouping": [activities["grouping"]],  # given alone, returned in an array
    }
    assert {**out, "context": STATEMENT["context"]} == STATEMENT


def test_ids_keeps_only_what_identifies_agents_activities_and_verbs():
    out = formatted(STATEMENT, "ids")
    assert out["actor"] == {"objectType": "Agent", "mbox": "mailto:ann@example.edu"}
    assert out["verb"] == {"id": "http://adlnet.gov/expapi/verbs/answered"}
    assert out["object"] == {"id": "https://example.edu/quiz/1/q/2"}  # objectType dropped
    assert out["context"]["instructor"] == {
        "objectType": "Agent",
        "account": {"homePage": "https://lms", "name": "ivy"},
    }
    # An anonymous group is identified by its members.
    assert out["context"]["team"] == {
        "objectType": "Group",
        "member": [{"objectType": "Agent", "mbox": "mailto:bo@example.edu"}],
    }
    assert out["context"]["contextActivities"] == {
        "parent": [{"id": "https://example.edu/quiz/1"}],
        "grouping": [{"id": "https://example.edu/course"}],
    }
    assert out["result"] == STATEMENT["result"]
    assert out["id"] == STATEMENT["id"]
    assert STATEMENT["actor"]["name"] == "Ann"  # the stored statement is not changed


def test_canonical_keeps_agents_and_one_language_per_map():
    out = formatted(STATEMENT, "canonical", "fr-CA, en;q=0.5")
    assert out["actor"] == STATEMENT["actor"]
    assert out["verb"]["display"] == {"fr": "a répondu"}
    definition = out["object"]["definition"]
    assert definition["name"] == {"fr": "Question 2 (fr)"}
    assert definition["description"] == {"en-GB": "Pick one"}  # no French: English next
    assert definition["choices"][0]["description"] == {"fr": "Rouge"}
    assert out["context"]["contextActivities"]["parent"][0]["definition"]["name"] == {"en": "Quiz"}


def test_substatements_are_formatted_too():
    sub = {
        **STATEMENT,
        "object": {
            "objectType": "SubStatement",
            **{k: STATEMENT[k] for k in ("actor", "verb", "object")},
        },
    }
    out = formatted(sub, "ids")
    assert out["object"]["actor"] == {"objectType": "Agent", "mbox": "mailto:ann@example.edu"}
    assert out["object"]["object"] == {"id": "https://example.edu/quiz/1/q/2"}
    assert out["object"]["objectType"] == "SubStatement"


def test_accept_language_is_ranked_by_quality_and_a_missing_match_falls_back():
    assert preferred_languages("de;q=0.2, fr-CH, en;q=0.8, *;q=0.1, es;q=0") == [
        "fr-ch",
        "en",
        "de",
    ]
    assert pick_language({"en-US": "x", "und": "y"}, ["ja"]) == {"und": "y"}
    assert pick_language({"en-US": "x", "de": "z"}, []) == {"en-US": "x"}
    assert pick_language({}, ["en"]) == {}
