"""Certificate PDFs: templates, QR codes (the only user of qrcode) and rendering.

Templates are instructor-editable Django templates rendered by a sandboxed engine (no loaders,
no custom tag libraries, autoescaping on) with plain values only. The HTML becomes a PDF in
`lti_tool.pdf`, where WeasyPrint may fetch nothing but `data:` URLs, so a template cannot make
the server request internal addresses.
"""

from __future__ import annotations

import base64
import io
from dataclasses import asdict, dataclass, field
from typing import Any

import qrcode
import qrcode.constants
from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError

from certificates.models import PageSize
from lti_tool.pdf import html_to_pdf

# Autoescaping on, built-in tags and filters only; `{% include %}` and `{% load %}` find nothing.
_ENGINE = Engine(loaders=[], libraries={}, autoescape=True, debug=False)


class TemplateInvalid(ValueError):
    """An instructor's certificate template does not compile or render."""


@dataclass(frozen=True)
class CertificateView:
    """What a certificate template may print."""

    learner_name: str
    title: str
    course_title: str
    organisation: str
    issued_on: str
    expires_on: str
    hours: str
    score: str
    serial: str
    verify_url: str
    qr_data_uri: str
    logo_data_uri: str = ""
    signatories: tuple[dict[str, str], ...] = field(default_factory=tuple)
    page_size: str = PageSize.A4
    renewal_of: str = ""


def qr_data_uri(url: str) -> str:
    """A PNG QR code of `url` as a data URI (medium error correction survives print wear)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    qr.add_data(url)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


SAMPLE = CertificateView(
    learner_name="Alex Sample",
    title="Sample course",
    course_title="Sample course",
    organisation="Sample organisation",
    issued_on="1 March 2026",
    expires_on="1 March 2027",
    hours="6.5",
    score="92%",
    serial="FL-SAMP-LE00-0000",
    verify_url="https://example.invalid/verify",
    qr_data_uri="",
)


def compile_template(source: str) -> None:
    """Raise TemplateInvalid when `source` does not compile or render with sample values."""
    render_html(source, SAMPLE)


def render_html(source: str, view: CertificateView) -> str:
    try:
        template = _ENGINE.from_string(source or DEFAULT_TEMPLATE)
        data: dict[str, Any] = asdict(view)
        data["page_css_size"] = "letter landscape" if view.page_size == "letter" else "A4 landscape"
        return template.render(Context(data))
    except (TemplateSyntaxError, TemplateDoesNotExist, ValueError, TypeError) as exc:
        raise TemplateInvalid(str(exc)) from exc


def render_pdf(html: str) -> bytes:
    return html_to_pdf(html)


DEFAULT_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
  @page { size: {{ page_css_size }}; margin: 12mm; }
  body { font-family: "DejaVu Serif", Georgia, serif; color: #1d2b36; margin: 0; }
  .frame { box-sizing: border-box; border: 1.2mm solid #2d5f7c; outline: .3mm solid #2d5f7c;
           outline-offset: -3mm; padding: 14mm 18mm 0; position: relative; text-align: center;
           height: {% if page_size == "letter" %}191mm{% else %}185mm{% endif %}; }
  .logo { height: 16mm; margin-bottom: 3mm; }
  .org { font: 600 10.5pt "DejaVu Sans", sans-serif; letter-spacing: .18em;
         text-transform: uppercase; color: #2d5f7c; }
  h1 { font-size: 34pt; margin: 7mm 0 5mm; font-weight: normal; letter-spacing: .02em; }
  .lead { font-size: 12pt; color: #4a5b68; }
  .name { font-size: 30pt; font-style: italic; border-bottom: .3mm solid #9fb3c2;
          display: inline-block; padding: 0 12mm 1.5mm; margin: 4mm 0 5mm; }
  .what { font-size: 14pt; }
  .facts { font: 10pt "DejaVu Sans", sans-serif; margin-top: 7mm; color: #33444f; }
  .facts span + span:before { content: "  ·  "; color: #9fb3c2; }
  .signatures { position: absolute; bottom: 14mm; left: 18mm; display: flex; gap: 12mm;
                text-align: left; }
  .signature { border-top: .3mm solid #1d2b36; padding-top: 1.5mm; width: 55mm;
               font: 9pt "DejaVu Sans", sans-serif; }
  .signature .role { color: #4a5b68; }
  .qr { position: absolute; bottom: 10mm; right: 14mm; text-align: center; width: 52mm;
        font: 7pt "DejaVu Sans Mono", monospace; color: #4a5b68; }
  .qr img { width: 26mm; height: 26mm; display: block; margin: 0 auto 1mm; }
  .qr .serial { font-size: 9pt; color: #1d2b36; }
</style></head>
<body><div class="frame">
  {% if logo_data_uri %}<img class="logo" src="{{ logo_data_uri }}" alt="">{% endif %}
  <div class="org">{{ organisation }}</div>
  <h1>Certificate of completion</h1>
  <div class="lead">This certifies that</div>
  <div class="name">{{ learner_name }}</div>
  <div class="what">has completed <strong>{{ title }}</strong>{% if renewal_of %}
    (renewal){% endif %}</div>
  <div class="facts">
    <span>Completed {{ issued_on }}</span>{% if hours %}<span>{{ hours }} hours</span>{% endif %}
    {% if score %}<span>Score {{ score }}</span>{% endif %}
    {% if expires_on %}<span>Valid until {{ expires_on }}</span>{% endif %}
  </div>
  <div class="signatures">
    {% for s in signatories %}<div class="signature">{{ s.name }}<br>
      <span class="role">{{ s.role }}</span></div>{% endfor %}
  </div>
  <div class="qr">
    {% if qr_data_uri %}<img src="{{ qr_data_uri }}" alt="Verification QR code">{% endif %}
    <div class="serial">{{ serial }}</div>Scan or visit<br>{{ verify_url }}</div>
</div></body></html>
"""
