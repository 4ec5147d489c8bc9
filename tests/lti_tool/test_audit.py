from __future__ import annotations

from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command

from lti_tool.audit import GENESIS, append_audit, verify_chain
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
