"""Which page of a sorted list to show: the one asked for, kept within the pages there are.

Lists cut their page in the database (`rows[page.first : page.last]`) after counting; this
module only reads the page asked for and does the arithmetic, so every paged list agrees
on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PER_PAGE = 50


@dataclass(frozen=True)
class Page:
    number: int  # 1-based, within 1..pages
    pages: int  # at least 1, even for no rows
    per_page: int

    @property
    def first(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def last(self) -> int:
        return self.number * self.per_page


def asked(params: Mapping[str, str], name: str = "page") -> int:
    """The page number the query string asks for: 1 when absent, junk or below 1.

    Past the last page is left to `page_of` to clamp, as only it knows the total.
    """
    try:
        return max(int(params.get(name) or 1), 1)
    except ValueError:  # not a number, or too many digits to read
        return 1


def page_of(total: int, asked: int, *, per_page: int = PER_PAGE) -> Page:
    """The page `asked` (clamped to the first or last) of `total` rows."""
    pages = max((total + per_page - 1) // per_page, 1)
    return Page(min(max(asked, 1), pages), pages, per_page)
