"""Custom behavioral events (api-reference §1) through the Python SDK 12.0.0:
`client.events.send.basic_api`, `client.events.send.batch_api` and `client.events.events_api`.

The SDK has no event-definitions API and its `objectProperty.*` / `property.*` filters are broken
(§1.4, rule 0.4), so those calls go through `client.api_request` (§8.1), which returns the raw
`requests.Response`. Both `send` methods return `None` whatever the server answers with 2xx, so
every send below is checked by reading the completions back. The full error matrix lives in the
Rust integration tests (`crates/chronik-server/tests/it/events_*.rs`).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import SimplePublicObjectInputForCreate
from hubspot.events import ApiException as ReadApiException
from hubspot.events.exceptions import ForbiddenException as ReadForbiddenException
from hubspot.events.send import (
    ApiException as SendApiException,
    BatchedBehavioralEventHttpCompletionRequest,
    BehavioralEventHttpCompletionRequest,
)
from hubspot.events.send.exceptions import ForbiddenException as SendForbiddenException

SEND_SCOPE = "analytics.behavioral_events.send"
DEFINITIONS_SCOPE = "behavioral_events.event_definitions.read_write"
#: What the tests' main client may do: send, define, and make the contacts events belong to.
EVENT_SCOPES = [
    SEND_SCOPE,
    DEFINITIONS_SCOPE,
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
]

DEFINITIONS = "/events/v3/event-definitions"
#: The read path with the trailing slash both SDKs send (rule 0.3).
EVENTS = "/events/v3/events/"

UTC = dt.timezone.utc
#: Completions in the tests happen at whole milliseconds after this instant.
T0 = dt.datetime(2024, 1, 1, tzinfo=UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def unique() -> str:
    return uuid.uuid4().hex[:10]


@dataclass
class Account:
    """A fresh account and an SDK client whose private-app token has `scopes` in it."""

    portal_id: int
    client: HubSpot

    def call(self, method: str, path: str, body=None, qs=None):
        """`client.api_request`: the raw `requests.Response`."""
        options = {"method": method, "path": path}
        if body is not None:
            options["body"] = body
        if qs is not None:
            options["qs"] = qs
        return self.client.api_request(options)

    def define(self, name: str, properties: list[dict] | None = None, **fields) -> dict:
        """Creates an event definition (201) and returns it."""
        body = {"label": name.title(), "name": name, "propertyDefinitions": properties or []}
        body.update(fields)
        r = self.call("POST", DEFINITIONS, body)
        assert r.status_code == 201, r.text
        return r.json()

    def contact(self, email: str) -> str:
        created = self.client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": email})
        )
        return created.id

    def events(self, **filters) -> list:
        """Every completion the filters match, by `events_api.get_page` with its own paging."""
        api = self.client.events.events_api
        page = api.get_page(limit=1000, **filters)
        results = list(page.results)
        while page.paging is not None and page.paging.next is not None:
            page = api.get_page(limit=1000, after=page.paging.next.after, **filters)
            results += page.results
        return results


def account_with(chronik, scopes: list[str]) -> Account:
    portal_id = chronik.create_account()["portalId"]
    app = chronik.admin(
        "POST",
        f"/admin/v1/accounts/{portal_id}/private-apps",
        {"name": "sdk-events", "scopes": scopes},
        expect=201,
    )
    client = HubSpot(access_token=app["token"], host=chronik.base_url, base_url=chronik.base_url)
    return Account(portal_id, client)


#: The signup event's custom properties: one enumeration, one number, one string.
SIGNUP_PROPERTIES = [
    {
        "name": "plan",
        "label": "Plan",
        "type": "enumeration",
        "options": [{"label": "Free", "value": "free"}, {"label": "Pro", "value": "pro"}],
    },
    {"name": "seats", "label": "Seats", "type": "number"},
    {"name": "note", "label": "Note", "type": "string"},
]


@pytest.fixture
def acct(chronik) -> Account:
    return account_with(chronik, EVENT_SCOPES)


@pytest.fixture
def signup(acct) -> str:
    """The fully qualified name of a contact event `signup` in `acct`."""
    return acct.define("signup", SIGNUP_PROPERTIES)["fullyQualifiedName"]


def check_correlation(body: dict, header: str | None) -> dict:
    assert body.get("correlationId") == header, (body, header)
    uuid.UUID(header)
    assert body["status"] == "error", body
    return body


def error_body(exc) -> dict:
    """The JSON body of an SDK exception, after checking its correlation id against the header."""
    assert exc.body, f"no body on {exc!r}"
    return check_correlation(json.loads(exc.body), exc.headers.get("x-hubspot-correlation-id"))


def response_error(r) -> dict:
    """The JSON error body of an `api_request` response."""
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    return check_correlation(r.json(), r.headers.get("x-hubspot-correlation-id"))


# -- send one ----------------------------------------------------------------------------------


def test_basic_api_send_with_a_model_stores_every_value(acct, signup):
    contact = acct.contact(f"ada-{unique()}@example.com")
    occurred = dt.datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    # Another offset for the same kind of value: stored as the instant it names.
    berlin = dt.timezone(dt.timedelta(hours=2))
    later = dt.datetime(2024, 1, 2, 5, 4, 6, 0, tzinfo=berlin)
    send = acct.client.events.send.basic_api.send

    assert (
        send(
            BehavioralEventHttpCompletionRequest(
                event_name=signup,
                object_id=contact,
                occurred_at=occurred,
                uuid="f1b8c7b0-3a59-4c3e-9d51-7f8f5d6b2a10",
                properties={"plan": "pro", "Seats": "12", "hs_city": "Cambridge"},
            )
        )
        is None
    )
    send(
        BehavioralEventHttpCompletionRequest(
            event_name=signup, object_id=contact, occurred_at=later, uuid="second"
        )
    )

    page = acct.client.events.events_api.get_page(event_type=signup)
    assert page.paging is None
    assert [e.id for e in page.results] == ["second", "f1b8c7b0-3a59-4c3e-9d51-7f8f5d6b2a10"]
    newest, first = page.results
    assert first.object_type == "CONTACT"
    assert first.object_id == contact
    assert first.event_type == signup
    assert isinstance(first.occurred_at, dt.datetime) and first.occurred_at.tzinfo is not None
    assert first.occurred_at == occurred
    assert first.properties == {"plan": "pro", "seats": "12", "hs_city": "Cambridge"}, (
        "names folded to lower case"
    )
    assert newest.occurred_at == dt.datetime(2024, 1, 2, 3, 4, 6, tzinfo=UTC)
    assert newest.properties == {}


def test_basic_api_send_without_occurred_at_or_uuid_gets_defaults(acct, signup):
    contact = acct.contact(f"def-{unique()}@example.com")
    before = dt.datetime.now(UTC) - dt.timedelta(seconds=2)
    acct.client.events.send.basic_api.send(
        BehavioralEventHttpCompletionRequest(event_name=signup, object_id=contact)
    )
    after = dt.datetime.now(UTC) + dt.timedelta(seconds=2)
    (event,) = acct.events(event_type=signup)
    assert before <= event.occurred_at <= after, "absent occurredAt is the time of receipt"
    uuid.UUID(event.id)
    assert event.object_id == contact


def test_basic_api_send_with_a_dict_by_email_finds_or_creates_the_contact(acct, signup):
    email = f"Grace-{unique()}@Example.com"
    send = acct.client.events.send.basic_api.send
    # A plain dict goes out as-is, camelCase keys and all (api-reference §1.1).
    send(
        {
            "eventName": signup,
            "email": email,
            "occurredAt": "2024-03-04T05:06:07.000Z",
            "uuid": "by-email-1",
            "properties": {"note": "created the contact"},
        }
    )
    contact = acct.client.crm.contacts.basic_api.get_by_id(email.lower(), id_property="email")
    assert contact.properties["email"] == email
    send({"eventName": signup, "email": email.upper(), "uuid": "by-email-2"})

    found = acct.events(object_type="contact", object_id=int(contact.id), sort=["ASCENDING"])
    assert [(e.id, e.object_id) for e in found] == [
        ("by-email-1", contact.id),
        ("by-email-2", contact.id),
    ]
    assert found[0].occurred_at == dt.datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert found[0].properties == {"note": "created the contact"}


def test_basic_api_send_by_utk_after_the_visitor_is_linked(chronik, acct, signup):
    utk = f"visitor-{unique()}"
    model = BehavioralEventHttpCompletionRequest(
        event_name=signup, utk=utk, uuid="by-utk", properties={"plan": "free"}
    )
    # A token nobody has is refused and creates nothing.
    with pytest.raises(SendApiException) as raised:
        acct.client.events.send.basic_api.send(model)
    assert raised.value.status == 400
    body = error_body(raised.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert [e["in"] for e in body["errors"]] == ["utk"]
    assert acct.events(event_type=signup) == []

    linked = chronik.admin(
        "POST",
        f"/admin/v1/accounts/{acct.portal_id}/visitors",
        {"utk": utk, "email": f"visitor-{unique()}@example.com"},
    )
    assert linked["utk"] == utk
    acct.client.events.send.basic_api.send(model)

    (event,) = acct.events(object_type="contact", object_id=int(linked["contactId"]))
    assert event.id == "by-utk"
    assert event.object_id == linked["contactId"]
    assert event.properties == {"plan": "free"}


def test_a_repeated_uuid_is_accepted_and_the_first_completion_stays(acct, signup):
    contact = acct.contact(f"retry-{unique()}@example.com")
    send = acct.client.events.send.basic_api.send
    for note, seconds in (("first", 1), ("second", 2)):
        result = send(
            BehavioralEventHttpCompletionRequest(
                event_name=signup,
                object_id=contact,
                occurred_at=at(seconds),
                uuid="retry-1",
                properties={"note": note},
            )
        )
        assert result is None, "204 both times: a client's retry is safe"
    # The same uuid inside a batch is no different.
    acct.client.events.send.batch_api.send(
        BatchedBehavioralEventHttpCompletionRequest(
            inputs=[
                BehavioralEventHttpCompletionRequest(
                    event_name=signup, object_id=contact, uuid="retry-1", properties={"note": "3"}
                ),
                BehavioralEventHttpCompletionRequest(
                    event_name=signup, object_id=contact, occurred_at=at(3), uuid="retry-2"
                ),
            ]
        )
    )

    found = acct.events(event_type=signup, sort=["ASCENDING"])
    assert [e.id for e in found] == ["retry-1", "retry-2"]
    assert found[0].properties == {"note": "first"}
    assert found[0].occurred_at == at(1)


# -- batches -----------------------------------------------------------------------------------


def batch_of_250(signup: str, ada: str, bob: str) -> list:
    """250 inputs a second apart from T0; every 25th (`b-000`, `b-025`, …) is Bob's, the other
    240 Ada's. `seats` is the index, `plan` alternates."""
    return [
        BehavioralEventHttpCompletionRequest(
            event_name=signup,
            object_id=bob if i % 25 == 0 else ada,
            occurred_at=at(i),
            uuid=f"b-{i:03}",
            properties={"seats": str(i), "plan": "pro" if i % 2 else "free"},
        )
        for i in range(250)
    ]


def test_batch_api_send_then_get_page_pages_through_every_completion_once(acct, signup):
    ada = acct.contact(f"ada-{unique()}@example.com")
    bob = acct.contact(f"bob-{unique()}@example.com")
    result = acct.client.events.send.batch_api.send(
        BatchedBehavioralEventHttpCompletionRequest(inputs=batch_of_250(signup, ada, bob))
    )
    assert result is None
    adas = [f"b-{i:03}" for i in range(250) if i % 25]
    assert len(adas) == 240

    get_page = acct.client.events.events_api.get_page
    filters = dict(object_type="contact", object_id=int(ada), event_type=signup)
    seen, pages = [], []
    page = get_page(limit=50, sort=["DESCENDING"], **filters)
    while True:
        pages.append(page)
        for e in page.results:
            assert e.object_type == "CONTACT"
            assert e.object_id == ada
            assert e.event_type == signup
            i = int(e.id[2:])
            assert e.occurred_at == at(i)
            assert e.properties == {"seats": str(i), "plan": "pro" if i % 2 else "free"}
        seen += [e.id for e in page.results]
        if page.paging is None or page.paging.next is None:
            break
        page = get_page(limit=50, sort=["DESCENDING"], after=page.paging.next.after, **filters)
    assert [len(p.results) for p in pages] == [50, 50, 50, 50, 40]
    assert seen == list(reversed(adas)), "newest first, each completion exactly once"
    assert pages[0].paging.prev is None
    assert pages[-1].paging.prev is not None, "the last page still links back"

    # `before` goes back to the page before, in the requested order.
    back = get_page(limit=50, sort=["DESCENDING"], before=pages[1].paging.prev.before, **filters)
    assert [e.id for e in back.results] == [e.id for e in pages[0].results]

    # A time window (both ends inclusive), oldest first, in pages of 30.
    window = dict(filters, occurred_after=at(100), occurred_before=at(199), sort=["ASCENDING"])
    seen = []
    page = get_page(limit=30, **window)
    seen += [e.id for e in page.results]
    while page.paging is not None and page.paging.next is not None:
        page = get_page(limit=30, after=page.paging.next.after, **window)
        seen += [e.id for e in page.results]
    assert seen == [f"b-{i:03}" for i in range(100, 200) if i % 25]

    bobs = acct.events(object_type="contact", object_id=int(bob))
    assert [e.id for e in bobs] == [f"b-{i:03}" for i in range(225, -1, -25)]
    assert len(acct.events(event_type=signup)) == 250


def test_get_page_id_filter_returns_only_those_completions(acct, signup):
    ada = acct.contact(f"ada-{unique()}@example.com")
    bob = acct.contact(f"bob-{unique()}@example.com")
    acct.client.events.send.batch_api.send(
        BatchedBehavioralEventHttpCompletionRequest(inputs=batch_of_250(signup, ada, bob))
    )
    get_page = acct.client.events.events_api.get_page
    page = get_page(id=["b-007", "b-025", "b-100", "no-such-id"])
    assert [e.id for e in page.results] == ["b-100", "b-025", "b-007"]
    assert [e.object_id for e in page.results] == [bob, bob, ada]
    assert page.paging is None
    # The other filters must match too.
    page = get_page(id=["b-007", "b-025"], object_type="contact", object_id=int(ada))
    assert [e.id for e in page.results] == ["b-007"]


def test_batch_with_a_bad_input_is_400_naming_its_index_and_stores_nothing(acct, signup):
    contact = acct.contact(f"bad-{unique()}@example.com")
    inputs = [
        BehavioralEventHttpCompletionRequest(
            event_name=signup, object_id=contact, uuid=f"ok-{i}", properties={"seats": str(i)}
        )
        for i in range(5)
    ]
    inputs[3] = BehavioralEventHttpCompletionRequest(
        event_name=signup, object_id=contact, uuid="bad-3", properties={"seats": "lots"}
    )
    with pytest.raises(SendApiException) as raised:
        acct.client.events.send.batch_api.send(
            BatchedBehavioralEventHttpCompletionRequest(inputs=inputs)
        )
    assert raised.value.status == 400
    body = error_body(raised.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert "1 of 5" in body["message"], body["message"]
    assert [e["context"]["inputIndex"] for e in body["errors"]] == [["3"]]
    assert body["errors"][0]["in"] == "inputs[3].properties.seats"
    assert acct.events(event_type=signup) == [], "all or nothing"


# -- reading -----------------------------------------------------------------------------------


def test_get_types_lists_the_accounts_fully_qualified_names(chronik, acct):
    assert acct.client.events.events_api.get_types().event_types == []
    names = [acct.define(n)["fullyQualifiedName"] for n in ("zebra_seen", "app_opened")]
    assert names == [f"pe{acct.portal_id}_zebra_seen", f"pe{acct.portal_id}_app_opened"]

    types = acct.client.events.events_api.get_types()
    assert types.event_types == sorted(names)
    other = account_with(chronik, EVENT_SCOPES)
    other.define("elsewhere")
    assert acct.client.events.events_api.get_types().event_types == sorted(names)
    assert other.client.events.events_api.get_types().event_types == [
        f"pe{other.portal_id}_elsewhere"
    ]


def test_object_property_and_property_filters_through_api_request(acct, signup):
    ada_email = f"ada-{unique()}@example.com"
    ada = acct.contact(ada_email)
    bob = acct.contact(f"bob-{unique()}@example.com")
    cities = [(ada, "new york", "p0"), (ada, "boston", "p1"), (bob, "new york", "p2")]
    acct.client.events.send.batch_api.send(
        BatchedBehavioralEventHttpCompletionRequest(
            inputs=[
                BehavioralEventHttpCompletionRequest(
                    event_name=signup,
                    object_id=who,
                    occurred_at=at(i),
                    uuid=uuid_,
                    properties={"hs_city": city},
                )
                for i, (who, city, uuid_) in enumerate(cities)
            ]
        )
    )

    def ids(qs: dict) -> list[str]:
        r = acct.call("GET", EVENTS, qs=qs)
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()["results"]]

    by_email = {"objectType": "contact", "objectProperty.email": ada_email.upper()}
    assert ids(by_email) == ["p1", "p0"], "a unique property, compared as the CRM does"
    assert ids({**by_email, "eventType": signup, "sort": "ASCENDING"}) == ["p0", "p1"]
    assert ids({"objectType": "contact", "objectProperty.email": "nobody@example.com"}) == []
    assert ids({"property.hs_city": "new york"}) == ["p2", "p0"]
    assert ids({**by_email, "property.hs_city": "new york"}) == ["p0"]

    # The SDK's own parameters send `objectProperty.{propname}=<str(dict)>` (rule 0.4); the
    # server refuses that and says what to do instead.
    get_page = acct.client.events.events_api.get_page
    broken = [
        (
            {
                "object_type": "contact",
                "object_property_propname": {"objectProperty.email": ada_email},
            },
            "objectProperty.{propname}",
        ),
        ({"property_propname": {"property.hs_city": "new york"}}, "property.{propname}"),
    ]
    for kwargs, key in broken:
        with pytest.raises(ReadApiException) as raised:
            get_page(**kwargs)
        assert raised.value.status == 400
        body = error_body(raised.value)
        assert body["category"] == "VALIDATION_ERROR"
        assert "api_request" in body["message"], body["message"]
        assert body["errors"][0]["in"] == key


# -- scopes ------------------------------------------------------------------------------------


def test_a_missing_scope_is_403_missing_scopes(chronik, acct, signup):
    contact = acct.contact(f"scope-{unique()}@example.com")
    acct.client.events.send.basic_api.send(
        BehavioralEventHttpCompletionRequest(event_name=signup, object_id=contact, uuid="s-1")
    )

    # Same account, a token that may only define events: no sending.
    definer = HubSpot(
        access_token=chronik.admin(
            "POST",
            f"/admin/v1/accounts/{acct.portal_id}/private-apps",
            {"name": "definer", "scopes": [DEFINITIONS_SCOPE]},
            expect=201,
        )["token"],
        host=chronik.base_url,
        base_url=chronik.base_url,
    )
    with pytest.raises(SendForbiddenException) as raised:
        definer.events.send.basic_api.send(
            BehavioralEventHttpCompletionRequest(event_name=signup, object_id=contact)
        )
    assert raised.value.status == 403
    body = error_body(raised.value)
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == [SEND_SCOPE]
    # …but either event scope reads.
    assert [e.id for e in definer.events.events_api.get_page(event_type=signup).results] == ["s-1"]

    sender = account_with(chronik, [SEND_SCOPE])
    r = sender.call("POST", DEFINITIONS, {"label": "Nope", "propertyDefinitions": []})
    assert r.status_code == 403
    body = response_error(r)
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == [DEFINITIONS_SCOPE]
    assert sender.client.events.events_api.get_types().event_types == []

    crm_only = account_with(chronik, ["crm.objects.contacts.read"]).client.events.events_api
    for call in (crm_only.get_page, crm_only.get_types):
        with pytest.raises(ReadForbiddenException) as raised:
            call()
        assert raised.value.status == 403
        body = error_body(raised.value)
        assert body["category"] == "MISSING_SCOPES"
        assert body["errors"][0]["context"]["requiredGranularScopes"] == [
            "oauth",
            SEND_SCOPE,
            DEFINITIONS_SCOPE,
        ]


# -- definitions -------------------------------------------------------------------------------


def test_definitions_through_api_request_create_get_list_patch_add_property_delete(acct):
    r = acct.call(
        "POST",
        DEFINITIONS,
        {
            "label": "Webinar Joined",
            "name": "webinar_joined",
            "description": "Someone joined a webinar",
            "propertyDefinitions": SIGNUP_PROPERTIES,
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{DEFINITIONS}/webinar_joined"
    created = r.json()
    fqn = f"pe{acct.portal_id}_webinar_joined"
    assert created["fullyQualifiedName"] == fqn
    assert created["name"] == "webinar_joined"
    assert created["labels"] == {"singular": "Webinar Joined"}
    assert created["description"] == "Someone joined a webinar"
    assert created["primaryObject"] == "CONTACT"
    assert created["objectTypeId"] == f"6-{created['id']}"
    assert created["archived"] is False
    names = [p["name"] for p in created["properties"]]
    assert names[:3] == ["plan", "seats", "note"]
    assert "hs_city" in names, "default properties are included"
    plan = next(p for p in created["properties"] if p["name"] == "plan")
    assert (plan["type"], plan["fieldType"]) == ("enumeration", "select")
    assert [o["value"] for o in plan["options"]] == ["free", "pro"]

    r = acct.call("GET", f"{DEFINITIONS}/webinar_joined")
    assert r.status_code == 200
    assert r.json() == created

    acct.define("purchase")
    r = acct.call("GET", DEFINITIONS)
    assert r.status_code == 200
    listed = r.json()
    assert listed["total"] == 2
    assert [d["name"] for d in listed["results"]] == ["purchase", "webinar_joined"]
    r = acct.call("GET", DEFINITIONS, qs={"searchString": "WEBINAR", "includeProperties": "true"})
    assert r.status_code == 200
    found = r.json()
    assert found["total"] == 1
    assert [d["fullyQualifiedName"] for d in found["results"]] == [fqn]
    assert found["results"][0]["properties"][:3] == created["properties"][:3]

    r = acct.call(
        "PATCH", f"{DEFINITIONS}/webinar_joined", {"label": "Webinar Attended", "description": "x"}
    )
    assert r.status_code == 201, r.text
    patched = r.json()
    assert patched["labels"]["singular"] == "Webinar Attended"
    assert patched["description"] == "x"
    assert patched["fullyQualifiedName"] == fqn, "the name never changes"
    assert acct.call("GET", f"{DEFINITIONS}/webinar_joined").json()["labels"]["singular"] == (
        "Webinar Attended"
    )

    r = acct.call(
        "POST",
        f"{DEFINITIONS}/webinar_joined/property",
        {"label": "Minutes Watched", "type": "number"},
    )
    assert r.status_code == 201, r.text
    added = r.json()
    assert (added["name"], added["type"], added["fieldType"]) == (
        "minutes_watched",
        "number",
        "number",
    )
    # The new property takes values at once, through the SDK.
    contact = acct.contact(f"webinar-{unique()}@example.com")
    acct.client.events.send.basic_api.send(
        BehavioralEventHttpCompletionRequest(
            event_name=fqn, object_id=contact, uuid="w-1", properties={"minutes_watched": "42"}
        )
    )
    assert [e.properties for e in acct.events(event_type=fqn)] == [{"minutes_watched": "42"}]

    r = acct.call("DELETE", f"{DEFINITIONS}/webinar_joined")
    assert r.status_code == 204
    assert r.content == b""
    r = acct.call("GET", f"{DEFINITIONS}/webinar_joined")
    assert r.status_code == 404
    assert response_error(r)["category"] == "OBJECT_NOT_FOUND"
    assert acct.client.events.events_api.get_types().event_types == [
        f"pe{acct.portal_id}_purchase"
    ]
    assert acct.events(id=["w-1"]) == [], "its completions went with it"
