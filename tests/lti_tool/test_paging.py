"""The page a query string asks for, and the page of a list that is shown for it."""

from __future__ import annotations

import pytest

from lti_tool.db.paging import asked, page_of


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, 1),
        ({"page": ""}, 1),
        ({"page": "3"}, 3),
        ({"page": "0"}, 1),
        ({"page": "-2"}, 1),
        ({"page": "two"}, 1),
        ({"page": "²"}, 1),  # a digit to str.isdigit, not to int()
        ({"page": "9" * 5000}, 1),  # past the digits int() reads
    ],
)
def test_the_page_asked_for_is_a_number_from_one(params, expected):
    assert asked(params) == expected


def test_another_parameter_can_carry_the_page():
    assert asked({"page": "2", "plan_page": "4"}, "plan_page") == 4


def test_a_page_past_the_last_shows_the_last():
    page = page_of(120, asked({"page": "9"}), per_page=50)
    assert (page.number, page.pages, page.first, page.last) == (3, 3, 100, 150)
