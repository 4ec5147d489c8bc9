"""The origin of a URL, as framing, form-action and CORS rules compare them."""

from __future__ import annotations

import pytest

from lti_tool.origins import origin_of


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://lms.example.edu/mod/lti/auth.php?x=1", "https://lms.example.edu"),
        ("http://127.0.0.1:8100/launch", "http://127.0.0.1:8100"),
        ("/relative/path", ""),
        ("lms.example.edu", ""),
        ("", ""),
    ],
)
def test_the_origin_is_scheme_and_host_or_nothing(url, expected):
    assert origin_of(url) == expected
