"""HTML to PDF: the only module that calls WeasyPrint (certificates and reports both use it).

WeasyPrint may fetch nothing but `data:` URLs, so no template can make the server read local
files or request internal addresses; embed images as data URIs.
"""

from __future__ import annotations

from weasyprint import HTML
from weasyprint.urls import URLFetcher


def html_to_pdf(html: str) -> bytes:
    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    pdf = HTML(string=html, url_fetcher=fetcher, base_url=None).write_pdf()
    assert pdf is not None
    return bytes(pdf)
