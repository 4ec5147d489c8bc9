from __future__ import annotations

from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command

from lti_tool.audit.trail import GENESIS, append_audit, entry_hash, verify_chain
from lti_tool.models import AuditEntry


@pytest.fixture
def chain(db):
    return [
        append_audit(actor="tester", action=f"thing.{n}", data={"n": n, "when": "2026-01-01"})
        for n in range(5)
    ]


def test_entries_link_each_to_the_previous_hash(chain):
    assert chain[0].prev_hash == GENESIS
    for previous, entry in pairwise(chain):
        assert entry.prev_hash == previous.hash
    assert verify_chain() == (5, None)


def test_verify_command_reports_an_intact_chain(chain, capsys):
    call_command("verify_audit")
    assert "intact: 5 entries" in capsys.readouterr().out


def test_an_altered_entry_is_named(chain):
    AuditEntry.objects.filter(pk=chain[2].pk).update(data={"n": 99})
    with pytest.raises(CommandError, match=f"entry {chain[2].pk}: content does not match"):
        call_command("verify_audit")


def test_a_deleted_entry_breaks_the_chain_at_the_next_one(chain):
    AuditEntry.objects.filter(pk=chain[1].pk).delete()
    checked, broken = verify_chain()
    assert checked == 1
    assert broken.entry_id == chain[2].pk


def test_removing_the_newest_entries_is_detected(chain):
    AuditEntry.objects.filter(pk=chain[4].pk).delete()
    _, broken = verify_chain()
    assert broken is not None
    assert "newest entries are missing" in broken.reason


def test_verify_command_names_the_entry_after_a_deleted_one(chain):
    AuditEntry.objects.filter(pk=chain[2].pk).delete()
    message = (
        f"entry {chain[3].pk}: previous hash does not match: an entry after entry {chain[1].pk}"
    )
    with pytest.raises(CommandError, match=message):
        call_command("verify_audit")


def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_link_of_the_next(chain):
    forged = entry_hash(
        prev_hash=chain[2].prev_hash,
        at=chain[2].at.isoformat(),
        actor="someone-else",
        action=chain[2].action,
        object_type="",
        object_id="",
        deployment_id=None,
        data=chain[2].data,
    )
    AuditEntry.objects.filter(pk=chain[2].pk).update(actor="someone-else", hash=forged)
    _, broken = verify_chain()
    assert broken.entry_id == chain[3].pk


def test_swapping_two_entries_is_detected(chain):
    first, second = chain[1], chain[2]
    fields = ("at", "actor", "action", "data", "prev_hash", "hash")
    values = {e.pk: {f: getattr(e, f) for f in fields} for e in (first, second)}
    AuditEntry.objects.filter(pk=first.pk).update(hash="x" * 64)
    AuditEntry.objects.filter(pk=second.pk).update(**values[first.pk])
    AuditEntry.objects.filter(pk=first.pk).update(**values[second.pk])
    _, broken = verify_chain()
    assert broken.entry_id == first.pk


def test_real_actions_append_to_one_intact_chain(platform, django_capture_on_commit_callbacks):
    from lti_tool.keys.tool import rotate_keys

    with django_capture_on_commit_callbacks(execute=True):
        rotate_keys(actor="test")
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions == ["platform.registered", "tool_key.rotated"]
    checked, broken = verify_chain()
    assert (checked, broken) == (2, None)
