"""CRM timeline events v3 (api-reference §2) through the Python SDK 12.0.0:
`client.crm.timeline.templates_api`, `tokens_api` and `events_api`.

Templates and tokens belong to the app: a client made with `HubSpot(api_key=<developer key>)`
sends the key as `?hapikey=`. Events are sent into an account that installed the app, with the
install's access token (scope `timeline`). `events_api.create_batch` returns `None` whatever the
server answers (§2.2), so batches are checked by reading the events back, and the 207 body
through `_preload_content=False` (the raw urllib3 response). The SDK turns every token value
it reads into a `str`, so that numbers come back as JSON strings is checked on the raw body.
The full rule and limit matrix lives in the Rust integration tests
(`crates/chronik-server/tests/it/timeline_*.rs`).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import pytest
from hubspot import HubSpot
from hubspot.crm.timeline import (
    ApiException,
    BatchInputTimelineEvent,
    TimelineEvent,
    TimelineEventIFrame,
    TimelineEventTemplateCreateRequest,
    TimelineEventTemplateToken,
    TimelineEventTemplateTokenOption,
    TimelineEventTemplateTokenUpdateRequest,
    TimelineEventTemplateUpdateRequest,
)

from chronik_harness import Server

UTC = dt.timezone.utc

#: What the install may do: send timeline events, read the contacts they create and the
#: companies they belong to, and make companies.
INSTALL_SCOPES = [
    "timeline",
    "crm.objects.contacts.read",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
]

# HubSpot's PetSpot example (api-reference §2.3, §2.4; the v3 spec's `EventDetail` example).
PETSPOT_HEADER = "Registered for [{{petName}}](https://my.petspot.com/pets/{{petName}})"
PETSPOT_DETAIL = (
    "Registration occurred at {{#formatDate timestamp}}{{/formatDate}}\n\n"
    "#### Questions\n"
    "{{#each extraData.questions}}\n  **{{question}}**: {{answer}}\n{{/each}}\n\n"
    "EDIT"
)
PET_COLORS = ("black", "yellow", "white")
#: The §2.4 example event's time.
ART3MIS_AT = dt.datetime(2020, 1, 30, 17, 42, 10, 276000, tzinfo=UTC)
ART3MIS_QUESTIONS = [
    {"question": "Who's a good girl?", "answer": "Bark!"},
    {"question": "Do you wanna go on a walk?", "answer": "Woof!"},
]


def unique() -> str:
    return uuid.uuid4().hex[:10]


def header_link(name: str) -> str:
    """The PetSpot header rendered for pet `name`: a paragraph with the link (links get `rel`)."""
    return (
        f'<p>Registered for <a href="https://my.petspot.com/pets/{name}" '
        f'rel="noopener noreferrer nofollow">{name}</a></p>'
    )


def petspot_tokens() -> list[TimelineEventTemplateToken]:
    return [
        TimelineEventTemplateToken(name="petName", label="Pet Name", type="string"),
        TimelineEventTemplateToken(name="petAge", label="Pet Age", type="number"),
        TimelineEventTemplateToken(
            name="petColor",
            label="Pet Color",
            type="enumeration",
            options=[
                TimelineEventTemplateTokenOption(label=c.title(), value=c) for c in PET_COLORS
            ],
        ),
    ]


@dataclass
class TimelineApp:
    """An app, one account that installed it, and the two SDK clients the API needs."""

    chronik: Server
    app_id: int
    developer_key: str
    portal_id: int
    #: `HubSpot(api_key=...)`: templates and tokens.
    developer: HubSpot
    #: `HubSpot(access_token=<install token>)`: events, and reading contacts.
    install: HubSpot

    @property
    def templates(self):
        return self.developer.crm.timeline.templates_api

    @property
    def tokens(self):
        return self.developer.crm.timeline.tokens_api

    @property
    def events(self):
        return self.install.crm.timeline.events_api

    def template(self, name: str, **fields):
        """Creates a contacts template (201) in one call and returns it."""
        fields.setdefault("object_type", "contacts")
        fields.setdefault("tokens", [])
        return self.templates.create(
            self.app_id, TimelineEventTemplateCreateRequest(name=name, **fields)
        )


def install_app(chronik: Server, app: dict, scopes: list[str]) -> tuple[int, HubSpot]:
    portal_id = chronik.create_account()["portalId"]
    install = chronik.admin(
        "POST",
        f"/admin/v1/apps/{app['appId']}/installs",
        {"portalId": portal_id, "scopes": scopes},
        expect=201,
    )
    client = HubSpot(
        access_token=install["accessToken"], host=chronik.base_url, base_url=chronik.base_url
    )
    return portal_id, client


@pytest.fixture(scope="module")
def tl(chronik) -> TimelineApp:
    app = chronik.create_app()
    portal_id, install = install_app(chronik, app, INSTALL_SCOPES)
    developer = HubSpot(api_key=app["developerApiKey"], host=chronik.base_url)
    return TimelineApp(
        chronik, app["appId"], app["developerApiKey"], portal_id, developer, install
    )


@pytest.fixture(scope="module")
def petspot(tl):
    """The module's PetSpot template, everything defined in one call (most tests only read it)."""
    return tl.template(
        "PetSpot Registration",
        tokens=petspot_tokens(),
        header_template=PETSPOT_HEADER,
        detail_template=PETSPOT_DETAIL,
    )


def error_body(exc: ApiException) -> dict:
    """The JSON body of an SDK exception, after checking its correlation id against the header."""
    assert exc.body, f"no body on {exc!r}"
    body = json.loads(exc.body)
    assert body["status"] == "error", body
    assert body["correlationId"] == exc.headers.get("x-hubspot-correlation-id"), body
    uuid.UUID(body["correlationId"])
    return body


def raw_json(response) -> dict:
    """The JSON body of a raw urllib3 response (`_preload_content=False`)."""
    assert response.headers.get("content-type", "").startswith("application/json"), dict(
        response.headers
    )
    return json.loads(response.data)


def pet_event(template_id: str, name: str, **fields) -> TimelineEvent:
    """A PetSpot event for pet `name` with a fresh email; `fields` override or add to it."""
    tokens = fields.pop("tokens", {"petName": name, "petAge": 3, "petColor": "black"})
    fields.setdefault("email", f"{name.lower()}-{unique()}@petspot.com")
    return TimelineEvent(event_template_id=template_id, tokens=tokens, **fields)


# -- templates and tokens ----------------------------------------------------------------------


def test_templates_api_create_get_all_get_by_id_update_archive(tl):
    created = tl.template("Webinar Registration")
    assert created.id.isdigit(), created.id
    assert (created.name, created.object_type, created.tokens) == (
        "Webinar Registration",
        "contacts",
        [],
    )
    assert created.header_template is None and created.detail_template is None
    assert isinstance(created.created_at, dt.datetime) and created.created_at.tzinfo is not None
    assert created.updated_at == created.created_at
    # The object type is echoed as sent, upper-case singular included.
    deal = tl.template("Deal Won", object_type="DEAL")
    assert deal.object_type == "DEAL"

    tid = created.id
    updated = tl.templates.update(
        tid,
        tl.app_id,
        TimelineEventTemplateUpdateRequest(
            id=tid,
            name="Webinar Registration v2",
            tokens=[TimelineEventTemplateToken(name="webinarName", label="Name", type="string")],
            header_template="Registered for {{webinarName}}",
            detail_template="Webinar: *{{webinarName}}*",
        ),
    )
    assert updated.id == tid
    assert updated.name == "Webinar Registration v2"
    assert updated.object_type == "contacts", "the object type stays"
    assert updated.header_template == "Registered for {{webinarName}}"
    assert updated.detail_template == "Webinar: *{{webinarName}}*"
    assert [(t.name, t.label, t.type, t.options) for t in updated.tokens] == [
        ("webinarName", "Name", "string", [])
    ]
    assert updated.created_at == created.created_at
    assert updated.updated_at >= created.updated_at

    read = tl.templates.get_by_id(tid, tl.app_id)
    assert read.to_dict() == updated.to_dict()
    listed = {t.id: t for t in tl.templates.get_all(tl.app_id).results}
    assert {tid, deal.id} <= set(listed)
    assert listed[tid].to_dict() == updated.to_dict()
    assert listed[deal.id].object_type == "DEAL"

    assert tl.templates.archive(tid, tl.app_id) is None
    with pytest.raises(ApiException) as raised:
        tl.templates.get_by_id(tid, tl.app_id)
    assert raised.value.status == 404
    assert error_body(raised.value)["category"] == "OBJECT_NOT_FOUND"
    assert tid not in {t.id for t in tl.templates.get_all(tl.app_id).results}


def test_a_template_calling_an_unknown_helper_is_refused_with_its_line_and_column(tl):
    with pytest.raises(ApiException) as raised:
        tl.template(
            "Broken",
            header_template="Fine",
            detail_template="First line\nthen {{#shout petName}}hi{{/shout}}",
        )
    assert raised.value.status == 400
    body = error_body(raised.value)
    assert body["category"] == "VALIDATION_ERROR"
    [error] = body["errors"]
    assert error["in"] == "detailTemplate"
    assert "line 2, column 6" in error["message"] and "shout" in error["message"], error
    assert "Broken" not in {t.name for t in tl.templates.get_all(tl.app_id).results}


def test_tokens_api_create_update_archive(tl):
    tid = tl.template("Webinar step by step").id
    name = tl.tokens.create(
        tid,
        tl.app_id,
        TimelineEventTemplateToken(name="webinarName", label="Webinar Name", type="string"),
    )
    assert (name.name, name.label, name.type, name.options) == (
        "webinarName",
        "Webinar Name",
        "string",
        [],
    ), "options: [] on a non-enumeration"
    assert name.object_property_name is None
    assert isinstance(name.created_at, dt.datetime) and name.updated_at == name.created_at

    kind = tl.tokens.create(
        tid,
        tl.app_id,
        TimelineEventTemplateToken(
            name="webinarType",
            label="Webinar Type",
            type="enumeration",
            options=[
                TimelineEventTemplateTokenOption(label="Regular", value="regular"),
                TimelineEventTemplateTokenOption(label="Ask me anything", value="ama"),
            ],
        ),
    )
    assert [(o.label, o.value) for o in kind.options] == [
        ("Regular", "regular"),
        ("Ask me anything", "ama"),
    ]
    tl.tokens.create(
        tid, tl.app_id, TimelineEventTemplateToken(name="webinarId", label="Id", type="number")
    )

    changed = tl.tokens.update(
        tid,
        "webinarType",
        tl.app_id,
        TimelineEventTemplateTokenUpdateRequest(
            label="Type",
            options=[
                TimelineEventTemplateTokenOption(label="Regular", value="regular"),
                TimelineEventTemplateTokenOption(label="Panel", value="panel"),
            ],
            object_property_name="zz_webinar_type",
        ),
    )
    assert (changed.name, changed.type, changed.label) == ("webinarType", "enumeration", "Type")
    assert [o.value for o in changed.options] == ["regular", "panel"]
    assert changed.object_property_name == "zz_webinar_type"
    assert changed.created_at == kind.created_at
    assert changed.updated_at >= kind.updated_at

    assert tl.tokens.archive(tid, "webinarId", tl.app_id) is None
    read = tl.templates.get_by_id(tid, tl.app_id)
    assert [t.name for t in read.tokens] == ["webinarName", "webinarType"]
    assert read.tokens[1].to_dict() == changed.to_dict()

    # A second token of the same name is refused, naming it.
    with pytest.raises(ApiException) as raised:
        tl.tokens.create(
            tid, tl.app_id, TimelineEventTemplateToken(name="webinarName", label="X", type="string")
        )
    assert raised.value.status == 409
    body = error_body(raised.value)
    assert body["category"] == "CONFLICT"
    assert "webinarName" in body["message"], body["message"]


def test_templates_need_the_apps_developer_key(tl, chronik):
    other = chronik.create_app()
    stranger = HubSpot(api_key=other["developerApiKey"], host=chronik.base_url)
    with pytest.raises(ApiException) as raised:
        stranger.crm.timeline.templates_api.get_all(tl.app_id)
    assert raised.value.status == 403
    body = error_body(raised.value)
    assert str(tl.app_id) in body["message"] and str(other["appId"]) in body["message"], body
    assert stranger.crm.timeline.templates_api.get_all(other["appId"]).results == []


# -- events: the PetSpot example end to end ----------------------------------------------------


def test_petspot_example_end_to_end(tl, petspot):
    assert [(t.name, t.type) for t in petspot.tokens] == [
        ("petName", "string"),
        ("petAge", "number"),
        ("petColor", "enumeration"),
    ]
    assert [o.value for o in petspot.tokens[2].options] == list(PET_COLORS)
    assert petspot.header_template == PETSPOT_HEADER
    assert petspot.detail_template == PETSPOT_DETAIL

    email = f"art3mis-pup-{unique()}@petspot.com"
    event_id = f"petspot:{petspot.id}:{email}-004"
    iframe = TimelineEventIFrame(
        link_label="View Art3mis",
        header_label="Art3mis dog",
        url="https://my.petspot.com/pets/Art3mis",
        width=600,
        height=400,
    )
    created = tl.events.create(
        TimelineEvent(
            event_template_id=petspot.id,
            id=event_id,
            email=email,
            timestamp=ART3MIS_AT,
            tokens={"petName": "Art3mis", "petAge": 3, "petColor": "black"},
            extra_data={"questions": ART3MIS_QUESTIONS},
            timeline_i_frame=iframe,
        )
    )
    assert created is not None, "201 with the event"
    assert (created.id, created.event_template_id, created.object_type) == (
        event_id,
        petspot.id,
        "contacts",
    )
    assert created.email == email
    assert created.timestamp == ART3MIS_AT
    assert created.tokens == {"petName": "Art3mis", "petAge": "3", "petColor": "black"}
    assert created.extra_data == {"questions": ART3MIS_QUESTIONS}
    assert created.timeline_i_frame.to_dict() == iframe.to_dict()
    # The email found no contact, so the event made one.
    assert created.object_id.isdigit(), created.object_id
    contact = tl.install.crm.contacts.basic_api.get_by_id(created.object_id, properties=["email"])
    assert contact.properties["email"] == email

    read = tl.events.get_by_id(petspot.id, event_id)
    assert read.to_dict() == created.to_dict()

    header = header_link("Art3mis")
    detail = (
        "<p>Registration occurred at Jan 30, 2020, 5:42:10 PM</p><h4>Questions</h4>"
        "<p><strong>Who&#x27;s a good girl?</strong>: Bark!</p>"
        "<p><strong>Do you wanna go on a walk?</strong>: Woof!</p><p>EDIT</p>"
    )
    assert tl.events.get_render_by_id(petspot.id, event_id) == header
    assert tl.events.get_render_by_id(petspot.id, event_id, detail=False) == header
    assert tl.events.get_render_by_id(petspot.id, event_id, detail=True) == detail
    assert tl.events.get_detail_by_id(petspot.id, event_id).details == detail

    raw = tl.events.get_render_by_id(petspot.id, event_id, detail=True, _preload_content=False)
    assert raw.status == 200
    assert raw.headers["content-type"].startswith("text/html"), dict(raw.headers)
    assert raw.data.decode() == detail


#: HubSpot's rendered `EventDetail` example of the v3 spec, for Pocket's PetSpot event of
#: 2020-01-30T18:13:25.665Z in an account on US Eastern time.
HUBSPOT_EVENT_DETAIL = (
    "<p>Registration occurred at Jan 30, 2020, 1:13:25 PM</p><h4>Questions</h4>"
    "<p><strong>Who&#x27;s a good kitty?</strong>: Purr...</p>"
    "<p><strong>Will you stop playing with that?</strong>: Meow!</p><p>EDIT</p>"
)


def test_the_detail_matches_hubspots_rendered_example(tl, petspot, chronik):
    app = {"appId": tl.app_id}
    portal_id, install = install_app(chronik, app, ["timeline"])
    chronik.admin(
        "PATCH", f"/admin/v1/accounts/{portal_id}", {"timeZone": "America/New_York"}
    )
    events = install.crm.timeline.events_api
    pocket = events.create(
        TimelineEvent(
            event_template_id=petspot.id,
            email="pocket@petspot.com",
            timestamp=dt.datetime(2020, 1, 30, 18, 13, 25, 665000, tzinfo=UTC),
            tokens={"petName": "Pocket", "petColor": "yellow", "petAge": 3},
            extra_data={
                "questions": [
                    {"question": "Who's a good kitty?", "answer": "Purr..."},
                    {"question": "Will you stop playing with that?", "answer": "Meow!"},
                ]
            },
        )
    )
    assert events.get_detail_by_id(petspot.id, pocket.id).details == HUBSPOT_EVENT_DETAIL
    assert events.get_render_by_id(petspot.id, pocket.id, detail=True) == HUBSPOT_EVENT_DETAIL
    assert events.get_render_by_id(petspot.id, pocket.id) == header_link("Pocket")
    # Another account's events are not this install's.
    with pytest.raises(ApiException) as raised:
        tl.events.get_by_id(petspot.id, pocket.id)
    assert raised.value.status == 404


def test_a_number_token_is_echoed_as_a_string(tl, petspot):
    # A `/` in the id reaches the server as %2F (the SDK quotes path parameters with no safe
    # characters) and must still name the one event.
    event = pet_event(
        petspot.id, "Pocket", id=f"pets/{unique()}", tokens={"petName": "P", "petAge": 2.5}
    )
    r = tl.events.create(event, _preload_content=False)
    assert r.status == 201
    created = raw_json(r)
    assert created["tokens"] == {"petName": "P", "petAge": "2.5"}
    stored = raw_json(tl.events.get_by_id(petspot.id, event.id, _preload_content=False))
    assert stored["tokens"] == {"petName": "P", "petAge": "2.5"}


def test_an_id_with_uuid_placeholders_gets_unique_ids(tl, petspot):
    first = tl.events.create(pet_event(petspot.id, "Rex", id="rex-{{uuid}}"))
    second = tl.events.create(pet_event(petspot.id, "Rex", id="rex-{{uuid}}"))
    assert first.id.startswith("rex-") and "{{" not in first.id, first.id
    assert second.id.startswith("rex-") and second.id != first.id
    assert tl.events.get_by_id(petspot.id, second.id).tokens["petName"] == "Rex"
    default = tl.events.create(pet_event(petspot.id, "Rex"))
    uuid.UUID(default.id)


def test_a_repeated_event_id_is_refused_and_the_first_is_kept(tl, petspot):
    event_id = f"once-{unique()}"
    tl.events.create(pet_event(petspot.id, "First", id=event_id))
    with pytest.raises(ApiException) as raised:
        tl.events.create(pet_event(petspot.id, "Second", id=event_id))
    assert raised.value.status == 409
    assert event_id in error_body(raised.value)["message"]
    assert tl.events.get_by_id(petspot.id, event_id).tokens["petName"] == "First"


def test_an_enumeration_value_outside_the_options_is_a_400_naming_the_token(tl, petspot):
    email = f"green-{unique()}@petspot.com"
    with pytest.raises(ApiException) as raised:
        tl.events.create(
            pet_event(
                petspot.id, "Kermit", email=email, tokens={"petName": "K", "petColor": "green"}
            )
        )
    assert raised.value.status == 400
    body = error_body(raised.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert "petColor" in body["message"] and "green" in body["message"], body["message"]
    assert [e["in"] for e in body["errors"]] == ["tokens.petColor"]
    for value in PET_COLORS:
        assert value in body["errors"][0]["message"], "the message lists the options"


def test_an_unknown_token_is_a_400_naming_it(tl, petspot):
    with pytest.raises(ApiException) as raised:
        tl.events.create(pet_event(petspot.id, "Rex", tokens={"petName": "Rex", "petWeight": 9}))
    assert raised.value.status == 400
    body = error_body(raised.value)
    assert "petWeight" in body["message"], body["message"]
    assert [e["in"] for e in body["errors"]] == ["tokens.petWeight"]


def test_a_developer_key_or_private_app_token_cannot_create_events(tl, petspot, chronik):
    event = pet_event(petspot.id, "Rex", id=f"refused-{unique()}")
    # The SDK sends events with the Bearer token only; `_request_auth` makes it send the key.
    hapikey = {"in": "query", "key": "hapikey", "type": "api_key", "value": tl.developer_key}
    with pytest.raises(ApiException) as raised:
        tl.developer.crm.timeline.events_api.create(event, _request_auth=hapikey)
    assert raised.value.status == 403
    body = error_body(raised.value)
    assert "developer API key" in body["message"], body["message"]

    private = chronik.admin(
        "POST",
        f"/admin/v1/accounts/{tl.portal_id}/private-apps",
        {"name": "timeline-sender", "scopes": ["timeline"]},
        expect=201,
    )
    client = HubSpot(access_token=private["token"], host=chronik.base_url)
    with pytest.raises(ApiException) as raised:
        client.crm.timeline.events_api.create(event)
    assert raised.value.status == 403
    assert "private app" in error_body(raised.value)["message"].lower()

    with pytest.raises(ApiException) as raised:
        tl.events.get_by_id(petspot.id, event.id)
    assert raised.value.status == 404, "nothing was stored"


def test_a_stamped_token_sets_the_contacts_property_and_the_newest_event_wins(tl):
    template = tl.template(
        "Profile synced",
        tokens=[
            TimelineEventTemplateToken(
                name="first", label="First name", type="string", object_property_name="firstname"
            )
        ],
        header_template="Profile synced for {{first}}",
    )
    assert template.tokens[0].object_property_name == "firstname"
    email = f"stamp-{unique()}@petspot.com"
    newer = tl.events.create(
        pet_event(template.id, "Newer", email=email, tokens={"first": "Ada"}, timestamp=ART3MIS_AT)
    )
    contact = tl.install.crm.contacts.basic_api.get_by_id(newer.object_id, properties=["firstname"])
    assert contact.properties["firstname"] == "Ada", "the event that made the contact stamped it"
    # An older event arriving later does not overwrite the newer value.
    older = tl.events.create(
        pet_event(
            template.id,
            "Older",
            email=email,
            tokens={"first": "Augusta"},
            timestamp=ART3MIS_AT - dt.timedelta(days=1),
        )
    )
    assert older.object_id == newer.object_id, "the email found the contact"
    contact = tl.install.crm.contacts.basic_api.get_by_id(newer.object_id, properties=["firstname"])
    assert contact.properties["firstname"] == "Ada"


def test_a_company_template_takes_the_company_id_in_object_id(tl):
    from hubspot.crm.companies import SimplePublicObjectInputForCreate

    company = tl.install.crm.companies.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"name": "PetSpot Inc", "domain": "petspot.com"}
        )
    )
    template = tl.template(
        "Kennel opened",
        object_type="COMPANY",
        tokens=[TimelineEventTemplateToken(name="city", label="City", type="string")],
        header_template="Opened a kennel in {{city}}",
    )
    assert template.object_type == "COMPANY", "echoed as sent"
    event = tl.events.create(
        TimelineEvent(event_template_id=template.id, object_id=company.id, tokens={"city": "Oslo"})
    )
    assert (event.object_type, event.object_id) == ("COMPANY", company.id)
    assert tl.events.get_render_by_id(template.id, event.id) == "<p>Opened a kennel in Oslo</p>"

    with pytest.raises(ApiException) as raised:
        tl.events.create(TimelineEvent(event_template_id=template.id, tokens={"city": "Bergen"}))
    assert raised.value.status == 400
    assert "objectId" in error_body(raised.value)["message"]


def test_hostile_token_values_and_links_render_as_harmless_html(tl):
    template = tl.template(
        "Note added",
        tokens=[TimelineEventTemplateToken(name="note", label="Note", type="string")],
        header_template="Note: **{{note}}**",
        detail_template="[open](javascript:alert(1)) {{{note}}}",
    )
    hostile = "<script>alert(1)</script><img src=x onerror=y>"
    event = tl.events.create(pet_event(template.id, "Eve", tokens={"note": hostile}))
    shown = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=y&gt;"
    assert tl.events.get_render_by_id(template.id, event.id) == (
        f"<p>Note: <strong>{shown}</strong></p>"
    )
    detail = tl.events.get_detail_by_id(template.id, event.id).details
    assert shown in detail, "a raw (triple-stache) value is shown as text too"
    assert "<script" not in detail and "<img" not in detail, detail
    assert "javascript:" not in detail and ">open</a>" in detail, detail
    assert tl.events.get_by_id(template.id, event.id).tokens == {"note": hostile}, "kept as sent"


# -- templates change what stored events look like ---------------------------------------------


def test_a_template_edit_changes_the_render_of_a_stored_event(tl):
    tokens = [TimelineEventTemplateToken(name="petName", label="Pet Name", type="string")]
    template = tl.template(
        "Vet visit",
        tokens=tokens,
        header_template="Visited the vet with {{petName}}",
        detail_template="Nothing to report",
    )
    event = tl.events.create(
        pet_event(template.id, "Pocket", id=f"vet-{unique()}", tokens={"petName": "Pocket"})
    )
    assert tl.events.get_render_by_id(template.id, event.id) == (
        "<p>Visited the vet with Pocket</p>"
    )

    tl.templates.update(
        template.id,
        tl.app_id,
        TimelineEventTemplateUpdateRequest(
            id=template.id,
            name="Vet visit",
            tokens=tokens,
            header_template="**{{petName}}** saw the vet",
            detail_template=(
                'Checked {{petName}} at {{#formatDate timestamp format="short"}}{{/formatDate}}'
            ),
        ),
    )
    assert tl.events.get_render_by_id(template.id, event.id) == (
        "<p><strong>Pocket</strong> saw the vet</p>"
    )
    detail = tl.events.get_detail_by_id(template.id, event.id).details
    short = event.timestamp.astimezone(UTC)
    hour = short.hour % 12 or 12
    expected = (
        f"<p>Checked Pocket at {short.month}/{short.day}/{short.strftime('%y')}, "
        f"{hour}:{short.minute:02d} {'AM' if short.hour < 12 else 'PM'}</p>"
    )
    assert detail == expected
    assert tl.events.get_by_id(template.id, event.id).to_dict() == event.to_dict(), "immutable"


def test_a_deleted_template_refuses_new_events_and_keeps_the_stored_ones_readable(tl):
    tokens = [TimelineEventTemplateToken(name="petName", label="Pet Name", type="string")]
    template = tl.template("Adoption", tokens=tokens, header_template="Adopted {{petName}}")
    event = tl.events.create(
        pet_event(template.id, "Rex", id=f"adopt-{unique()}", tokens={"petName": "Rex"})
    )
    assert tl.templates.archive(template.id, tl.app_id) is None

    with pytest.raises(ApiException) as raised:
        tl.templates.get_by_id(template.id, tl.app_id)
    assert raised.value.status == 404
    with pytest.raises(ApiException) as raised:
        tl.events.create(pet_event(template.id, "Max", tokens={"petName": "Max"}))
    assert raised.value.status == 404
    message = error_body(raised.value)["message"]
    assert template.id in message and "deleted" in message, message
    # Stored events stay readable by id for reports (SPEC.md).
    assert tl.events.get_by_id(template.id, event.id).to_dict() == event.to_dict()


# -- batches -----------------------------------------------------------------------------------


def test_create_batch_stores_every_event(tl, petspot):
    batch = unique()
    ids = [f"batch-{batch}-{i}" for i in range(3)]
    inputs = [
        pet_event(
            petspot.id,
            f"Pup{i}",
            id=ids[i],
            timestamp=ART3MIS_AT + dt.timedelta(minutes=i),
            tokens={"petName": f"Pup{i}", "petAge": i, "petColor": PET_COLORS[i]},
            extra_data={"questions": [{"question": f"q{i}", "answer": "a"}]},
        )
        for i in range(3)
    ]
    assert tl.events.create_batch(BatchInputTimelineEvent(inputs=inputs)) is None

    for i, event_id in enumerate(ids):
        read = tl.events.get_by_id(petspot.id, event_id)
        assert (read.id, read.object_type, read.email) == (event_id, "contacts", inputs[i].email)
        assert read.tokens == {"petName": f"Pup{i}", "petAge": str(i), "petColor": PET_COLORS[i]}
        assert read.timestamp == ART3MIS_AT + dt.timedelta(minutes=i)
        assert read.object_id.isdigit()
        assert tl.events.get_render_by_id(petspot.id, event_id) == header_link(f"Pup{i}")
        assert tl.events.get_detail_by_id(petspot.id, event_id).details == (
            f"<p>Registration occurred at Jan 30, 2020, 5:{42 + i}:10 PM</p><h4>Questions</h4>"
            f"<p><strong>q{i}</strong>: a</p><p>EDIT</p>"
        )


def test_a_batch_with_one_bad_input_is_207_and_stores_the_others(tl, petspot):
    batch = unique()
    ids = [f"partial-{batch}-{i}" for i in range(3)]
    inputs = [pet_event(petspot.id, f"Dog{i}", id=ids[i]) for i in range(3)]
    inputs[1] = pet_event(
        petspot.id, "Cat", id=ids[1], tokens={"petName": "Cat", "petColor": "tabby"}
    )

    r = tl.events.create_batch(BatchInputTimelineEvent(inputs=inputs), _preload_content=False)
    assert r.status == 207
    body = raw_json(r)
    assert body["status"] == "COMPLETE"
    assert sorted(e["id"] for e in body["results"]) == [ids[0], ids[2]]
    assert all(e["tokens"]["petAge"] == "3" for e in body["results"])
    assert body["numErrors"] == 1
    [error] = body["errors"]
    assert error["status"] == "error"
    assert "petColor" in error["message"] and "tabby" in error["message"], error
    assert "inputs[1]" in error["message"], error
    assert error["context"]["inputIndex"] == ["1"] and error["context"]["id"] == [ids[1]], error

    assert tl.events.get_by_id(petspot.id, ids[0]).tokens["petName"] == "Dog0"
    assert tl.events.get_by_id(petspot.id, ids[2]).tokens["petName"] == "Dog2"
    with pytest.raises(ApiException) as raised:
        tl.events.get_by_id(petspot.id, ids[1])
    assert raised.value.status == 404
