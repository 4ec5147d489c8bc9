"""The demo's mail catcher: a real SMTP server (aiosmtpd's Maildir handler, as `./run` starts
it) receives what Finishline sends, and /demo/mail/ shows it to read."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from django.core.mail import send_mail
from django.core.management import call_command
from django.test import Client

from tests.mail import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def catcher(tmp_path, settings):
    folder = tmp_path / "mail"
    for sub in ("tmp", "new", "cur"):
        (folder / sub).mkdir(parents=True)
    port = free_port()
    controller = Controller(Mailbox(str(folder)), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.DEMO_MAILDIR = str(folder)
    call_command("seed_demo")
    yield folder
    controller.stop()


def test_mail_sent_over_smtp_is_readable_on_the_demo_mail_page(catcher):
    send_mail("Your next step", "Module 2 is waiting.", "finishline@localhost", ["ana@example.org"])
    page = Client().get("/demo/mail/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "1 message caught so far" in html
    assert "Your next step" in html
    assert "Module 2 is waiting." in html
    assert "ana@example.org" in html


def test_the_demo_lms_page_links_to_the_mail(catcher):
    page = Client().get("/demo/lms/?as=instructor").content.decode()
    assert 'href="/demo/mail/"' in page


def test_without_a_catcher_the_page_says_so(settings):
    call_command("seed_demo")
    settings.DEMO_MAILDIR = ""
    html = Client().get("/demo/mail/").content.decode()
    assert "No mail catcher is set up here" in html
