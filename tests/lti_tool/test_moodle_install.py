"""The README's Moodle steps, followed as written against a recorded Moodle 4.5.

`fixtures/moodle45.json` records what Moodle 4.5 serves and sends (its openid-configuration,
what its registration endpoint requires and answers, the tool card's settings it derives from
the registration, its login initiation, launch and deep linking claims, and what it does not
send), as shapes read from Moodle's source. `MoodleSite` below plays that recording; the test
walks the README's numbered Moodle steps one by one (`step(n)` checks that step's words are
still in the README where the test does what they say), so a change to Finishline or to the
README that breaks a step fails here.
"""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.core.management import call_command
from django.test import Client

from lti_tool.models import Course, Platform
from lti_tool.registration.dynamic import TOOL_CONFIGURATION
from tests.platform.server import Response, TestPlatform

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
RECORDED = json.loads((Path(__file__).parent / "fixtures" / "moodle45.json").read_text())
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
TOKEN = "moodle-registration-token"
CARD = RECORDED["tool_card_after_registration"]


# --- The README's Moodle section ---------------------------------------------------------


def readme_moodle_steps() -> dict[int, str]:
    """The numbered steps under "### Moodle", as plain text (markdown emphasis kept)."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^### Moodle[^\n]*\n(.*?)(?=^#|\Z)", readme, re.M | re.S)
    assert section, "the README has no Moodle section"
    found = re.findall(r"^(\d+)\. (.*?)(?=^\d+\. |^\s*$)", section.group(1), re.M | re.S)
    return {int(number): " ".join(text.split()) for number, text in found}


STEPS = readme_moodle_steps()


def step(number: int, *words: str) -> str:
    """The README's step `number`, checked to still say `words` (emphasis ignored)."""
    text = STEPS[number]
    plain = text.replace("**", "").replace("*", "").replace("`", "")
    for phrase in words:
        assert phrase in plain, f"README Moodle step {number} no longer says {phrase!r}: {text}"
    return text


def test_the_readme_has_the_five_moodle_steps_this_test_follows():
    assert sorted(STEPS) == [1, 2, 3, 4, 5], STEPS


# --- Moodle 4.5, played from the recording -----------------------------------------------


def fill(value: Any, moodle: str, typeid: str) -> Any:
    if isinstance(value, str):
        return value.replace("{moodle}", moodle).replace("{typeid}", typeid)
    if isinstance(value, list):
        return [fill(v, moodle, typeid) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, moodle, typeid) for k, v in value.items()}
    return value


def refusal(body: dict[str, Any]) -> str | None:
    """Why Moodle's registration endpoint would refuse this request, if it would."""
    rules = RECORDED["registration_request"]
    for field in rules["required"]:
        if not body.get(field):
            return f"missing required attribute {field}"
    for field in rules["tool_configuration_required"]:
        if not body[TOOL_CONFIGURATION].get(field):
            return f"missing required attribute {field}"
    if rules["response_types_include"] not in body["response_types"]:
        return "invalid_response_types"
    if not isinstance(body["redirect_uris"], list):
        return "invalid_redirect_uris"
    if body["token_endpoint_auth_method"] != rules["token_endpoint_auth_method"]:
        return "invalid_token_endpoint_auth_method"
    if body.get("application_type") not in (None, "", rules["application_type_if_sent"]):
        return "invalid_application_type"
    return None


def card_after_registration(body: dict[str, Any]) -> dict[str, str]:
    """The tool card's settings as Moodle sets them from the registration request."""
    scopes = body.get("scope", "").split()
    tool = body[TOOL_CONFIGURATION]
    claims = tool.get("claims") or []
    messages = {m.get("type") for m in tool.get("messages") or []}
    card: dict[str, str] = {}
    for label, rule in CARD.items():
        if not isinstance(rule, dict):
            continue
        if "set_to" in rule:
            card[label] = rule["set_to"]
        elif "ticked_when_message" in rule:
            card[label] = "ticked" if rule["ticked_when_message"] in messages else "not ticked"
        else:
            pairs = rule.get("first_scope_that_sets") or rule["first_claim_that_sets"]
            present = scopes if "first_scope_that_sets" in rule else claims
            card[label] = next((v for key, v in pairs if key in present), rule["otherwise"])
    return card


class MoodleSite:
    """The recorded Moodle 4.5 served from a local platform's address."""

    def __init__(self, platform: TestPlatform) -> None:
        self.platform = platform
        self.url = platform.base_url
        self.typeid = platform.deployment_id
        self.cards: list[dict[str, str]] = []
        self.answers: list[dict[str, Any]] = []
        self.config = fill(RECORDED["openid_configuration"], self.url, self.typeid)
        platform.route("GET", "/mod/lti/openid-configuration.php", self._configuration)
        platform.route("POST", "/mod/lti/openid-registration.php", self._register)
        platform.route("GET", "/mod/lti/certs.php", lambda r: Response(body=platform.jwks()))
        platform.route("POST", "/mod/lti/token.php", platform._token)

    @property
    def configuration_url(self) -> str:
        return self.url + "/mod/lti/openid-configuration.php"

    def _configuration(self, request) -> Response:
        return Response(body=self.config)

    def _register(self, request) -> Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response(401, "missing_registration_token", content_type="text/plain")
        body = request.json()
        problem = refusal(body)
        if problem:
            return Response(400, problem, content_type="text/plain")
        card = {"state": CARD["state"], **card_after_registration(body)}
        self.cards.append(card)
        answer = self.answer(body, card)
        self.answers.append(answer)
        return Response(body=answer)

    def answer(self, body: dict[str, Any], card: dict[str, str]) -> dict[str, Any]:
        shape = RECORDED["registration_response"]
        tool = body[TOOL_CONFIGURATION]
        scopes = [s for value in card.values() for s in shape["scope_by_setting"].get(value, [])]
        answer_tool: dict[str, Any] = {
            "deployment_id": self.typeid,
            **{k: tool.get(k, "") for k in shape["tool_configuration"]["echoed"]},
            "claims": shape["tool_configuration"]["claims"],
        }
        deep = [m for m in tool.get("messages") or [] if m.get("type") == "LtiDeepLinkingRequest"]
        if deep:
            target = deep[0].get("target_link_uri", "")
            answer_tool["messages"] = [{"type": "LtiDeepLinkingRequest", "target_link_uri": target}]
        return {
            **shape["fixed"],
            **{k: body.get(k, "") for k in shape["echoed"]},
            "client_id": self.platform.client_id,
            "scope": " ".join(dict.fromkeys(scopes)),
            TOOL_CONFIGURATION: answer_tool,
        }

    def login_params(self, *, sub: str) -> dict[str, str]:
        recorded = RECORDED["login_initiation"]["params"]
        return {
            **fill(recorded, self.url, self.typeid),
            "login_hint": sub,
            "client_id": self.platform.client_id,
            "target_link_uri": self.answers[-1][TOOL_CONFIGURATION]["target_link_uri"],
        }

    def claims(self, kind: str, *, role: str = "Instructor") -> dict[str, Any]:
        claims = dict(fill(RECORDED[kind], self.url, self.typeid))
        if kind == "resource_link_claims":
            claims[LTI + "roles"] = claims[LTI + "roles"][role]
        else:
            claims.pop("accepted_content_item_types")
            claims[LTI + "roles"] = RECORDED["resource_link_claims"][LTI + "roles"][role]
            claims[LTI + "context"] = claims.get(LTI + "context") or fill(
                RECORDED["resource_link_claims"][LTI + "context"], self.url, self.typeid
            )
            claims[LTI + "deployment_id"] = self.typeid
        return claims

    def launch(self, client: Client, kind: str, *, sub: str, role: str, **extra: Any):
        """Moodle's login initiation, its auth answer (a signed id_token), the form post."""
        login = client.get("/lti/login/", self.login_params(sub=sub))
        assert login.status_code == 302, login.content[:300]
        location = urlsplit(login["Location"])
        assert (
            f"{location.scheme}://{location.netloc}{location.path}"
            == (self.config["authorization_endpoint"])
        )
        auth = {k: v[0] for k, v in parse_qs(location.query).items()}
        body = self.platform.id_token_body(sub=sub, nonce=auth["nonce"])
        body.pop(LTI + "resource_link")
        body.update({"name": f"Person {sub}", "given_name": "Person", "family_name": sub})
        body.update(self.claims(kind, role=role))
        body[LTI + "target_link_uri"] = auth["redirect_uri"]
        body.update(extra)
        token = self.platform.sign(body)
        return client.post("/lti/launch/", {"id_token": token, "state": auth["state"]})


@pytest.fixture
def moodle():
    with TestPlatform(client_id="kR3xCLmYqH0vP2e", deployment_id="2") as platform:
        yield MoodleSite(platform)


def verified(client: Client, token: str, moodle: MoodleSite) -> dict[str, Any]:
    jwks = client.get("/lti/jwks/").json()
    key = next(k for k in jwks["keys"] if k["kid"] == jwt.get_unverified_header(token)["kid"])
    return jwt.decode(
        token,
        jwt.algorithms.RSAAlgorithm.from_jwk(key),
        algorithms=["RS256"],
        audience=moodle.url,
        issuer=moodle.platform.client_id,
    )


def register_through(moodle: MoodleSite, tool_url: str) -> Any:
    """Moodle's "Add LTI Advantage": it opens the tool URL with its configuration's URL."""
    return Client().get(
        urlsplit(tool_url).path,
        {"openid_configuration": moodle.configuration_url, "registration_token": TOKEN},
    )


# --- The steps -----------------------------------------------------------------------------


def test_the_readme_moodle_steps_work_as_written(moodle, settings):
    settings.FINISHLINE = {**settings.FINISHLINE, "REGISTRATION_REQUIRES_APPROVAL": True}

    step(1, "python manage.py registration_link", "one-time registration URL")
    out = StringIO()
    call_command("registration_link", stdout=out)
    tool_url = out.getvalue().splitlines()[0]

    step(2, "Manage tools", "Tool URL", "Add LTI Advantage", "Activate the pending card")
    page = register_through(moodle, tool_url)
    assert page.status_code == 200, page.content[:500]
    assert "Finishline is now registered" in page.content.decode()
    [card] = moodle.cards
    assert card["state"] == "Pending"  # Moodle's own state, until the admin activates it
    platform = Platform.objects.get()
    assert (platform.status, platform.product) == ("active", "moodle")  # the link approves
    assert platform.auth_login_url == moodle.config["authorization_endpoint"]
    assert platform.deployments.get().deployment_id == moodle.typeid

    # The card's settings: what the README says to choose must be one of Moodle's options,
    # and what registration already set must be what the README says (or the README says to
    # change it).
    text = step(3, "Tool configuration usage", "Services: AGS", "NRPS", "Privacy")
    chosen = {
        "Tool configuration usage": "Show in activity chooser and as a preconfigured tool",
        "IMS LTI Assignment and Grade Services": (
            "Use this service for grade sync and column management"
        ),
        "IMS LTI Names and Role Provisioning": (
            "Use this service to retrieve members' information as per privacy settings"
        ),
        "Share launcher's name with tool": "Always",
        "Share launcher's email with tool": "Always",
    }
    for label, value in chosen.items():
        assert f"**{value}**" in text, (label, value)
        assert value in CARD[label]["options"], (label, value)
    for label in chosen.keys() - {"Tool configuration usage"}:
        assert card[label] == chosen[label], (label, card[label])  # set by registration
    # Registration leaves the tool out of the activity chooser: step 3's change is needed.
    assert card["Tool configuration usage"] != chosen["Tool configuration usage"]
    assert card["Supports Deep Linking (Content-Item Message)"] == "ticked"

    step(4, "More → LTI External tools", "Show in activity chooser")
    step(4, "Add an activity or resource → Finishline", "lti:addmanualinstanceprohibitederror")
    # The activity form's "Select content" runs deep linking; Moodle makes the activity from
    # the item Finishline returns.
    teacher = Client()
    picker = moodle.launch(teacher, "deep_linking_claims", sub="2", role="Instructor")
    assert picker.status_code == 200, picker.content[:500]
    answer = teacher.post(
        "/lti/deep-link/",
        {
            "lt": picker.context["launch_token"],
            "dl": picker.context["dl"],
            "placement": "dashboard",
        },
    )
    form = re.search(rb'<form id="fl-dl-return" method="post" action="([^"]+)"', answer.content)
    settings_claim = moodle.claims("deep_linking_claims")[DL + "deep_linking_settings"]
    assert form.group(1).decode().replace("&amp;", "&") == settings_claim["deep_link_return_url"]
    # Moodle checks the response with the tool's keyset (its card's "Public keyset").
    returned = verified(teacher, answer.context["response"].jwt, moodle)
    assert returned[DL + "data"] == settings_claim["data"]
    items = returned[DL + "content_items"]
    accepted = RECORDED["deep_linking_claims"]["accepted_content_item_types"]
    assert items
    assert all(item["type"] in accepted for item in items), items
    custom = items[0].get("custom", {})
    # The activity, launched by its teacher and a learner (with the item's custom values).
    response = moodle.launch(
        Client(), "resource_link_claims", sub="2", role="Instructor", **{LTI + "custom": custom}
    )
    assert response.status_code == 200, response.content[:500]
    assert "Today in Safety at work" in response.content.decode()
    response = moodle.launch(
        Client(), "resource_link_claims", sub="5", role="Learner", **{LTI + "custom": custom}
    )
    assert response.status_code == 200, response.content[:500]
    assert "My progress" in response.content.decode()
    # The services the card switched on arrive as claims Finishline keeps for its calls.
    course = Course.objects.get()
    recorded = moodle.claims("resource_link_claims")
    nrps = recorded["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"]
    ags = recorded["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
    assert course.nrps_url == nrps["context_memberships_url"]
    assert course.ags_lineitems_url == ags["lineitems"]

    step(5, "Moodle sends no platform name", "names it by its host", "no platform storage")
    assert "name" not in recorded[LTI + "tool_platform"]
    platform.refresh_from_db()
    assert str(platform) == urlsplit(moodle.url).hostname
    # No lti_storage_target: inside a cross-site frame that keeps no cookie Finishline offers
    # a new window, which starts the same login again while Moodle's hint is still unspent.
    assert "lti_storage_target" not in moodle.login_params(sub="5")
    step(5, "offers a new window")
    framed = Client().get(
        "/lti/login/",
        moodle.login_params(sub="5"),
        HTTP_SEC_FETCH_DEST="iframe",
        HTTP_SEC_FETCH_SITE="cross-site",
    )
    assert framed.status_code == 200
    assert "Open Finishline in a new window" in framed.content.decode()
    relogin = parse_qs(urlsplit(framed.context["relogin_url"]).query)
    assert relogin["lti_message_hint"] == [moodle.login_params(sub="5")["lti_message_hint"]]


def test_step_1s_other_way_the_dynamic_registration_url_waits_for_approval(moodle, settings):
    settings.FINISHLINE = {**settings.FINISHLINE, "REGISTRATION_REQUIRES_APPROVAL": True}
    step(1, "or use the dynamic registration URL", "production then waits for approval")
    page = register_through(moodle, "https://finishline.example.edu/lti/register/")
    assert page.status_code == 200, page.content[:500]
    platform = Platform.objects.get()
    assert platform.status == "pending"
    client = Client()
    login = client.get("/lti/login/", {**moodle.login_params(sub="2")})
    assert login.status_code != 302  # no launch until an admin approves
    assert "approv" in login.content.decode()
    assert not Course.objects.exists()


def test_moodle_would_refuse_a_registration_missing_what_it_requires():
    """The recording's rules bite: a request without a required field is refused."""
    good = {
        "response_types": ["id_token"],
        "initiate_login_uri": "https://t/lti/login/",
        "redirect_uris": ["https://t/lti/launch/"],
        "client_name": "Finishline",
        "jwks_uri": "https://t/lti/jwks/",
        "token_endpoint_auth_method": "private_key_jwt",
        TOOL_CONFIGURATION: {"domain": "t", "target_link_uri": "https://t/lti/launch/"},
    }
    assert refusal(good) is None
    assert refusal({**good, "jwks_uri": ""}) == "missing required attribute jwks_uri"
    assert refusal({**good, "application_type": "native"}) == "invalid_application_type"
    assert refusal({**good, "redirect_uris": "https://t/"}) == "invalid_redirect_uris"
    assert card_after_registration({**good, "scope": ""})[
        "IMS LTI Assignment and Grade Services"
    ] == ("Do not use this service")
