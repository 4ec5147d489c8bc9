"""/me/data/ as a person reads it: headings in words, values formatted, codes as words."""

from __future__ import annotations

from datetime import UTC, datetime

from lti_tool.audit import readable


def test_headings_and_values_read_as_words():
    (section,) = readable.sections(
        {
            "activity": [
                {
                    "course__context_id": "c-1",
                    "occurred_at": datetime(2026, 12, 7, 14, 3, tzinfo=UTC),
                    "attributes": {"department": "Safety"},
                    "reason": "playbook:absent_2",
                    "by": "person:4",
                    "success": True,
                }
            ]
        },
        me="person:9",
    )
    assert section.title == "Activity"
    assert section.headings == ["Course id", "When", "Attributes", "Reason", "By", "Success"]
    assert section.rows == [
        ["c-1", "7 Dec 2026, 14:03 UTC", "Department: Safety", "Playbook: absent 2",
         "a staff member", "Yes"]
    ]  # fmt: skip


def test_the_person_themself_is_you_and_long_sections_are_cut_for_the_page():
    rows = [{"by": "person:9"} for _ in range(30)]
    (section,) = readable.sections({"audit": rows}, me="person:9")
    assert section.total == 30
    assert len(section.rows) == 20
    assert section.rows[0] == ["you"]
