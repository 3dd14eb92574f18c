"""CRM records, search, custom properties and custom object schemas (api-reference §5) through
the Python SDK 12.0.0: `client.crm.{contacts,companies,deals}.{basic_api,batch_api,search_api}`,
`client.crm.schemas.core_api`, `client.crm.objects.basic_api` and `client.crm.properties.core_api`.

One test per SDK method and outcome we support, asserting the values that come back. The SDK only
deserializes a body whose status is the declared one (201 for creates, 200 for reads, 207 for
partial batches; §8.1), so every typed result below also proves the status. Errors arrive as
`ApiException` subclasses with the body as a string (§4.4). The full error matrix lives in the
Rust integration tests (`crates/chronik-server/tests/it/crm_*.rs`).
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import uuid
from dataclasses import dataclass

import pytest
from hubspot import HubSpot
from hubspot.crm.objects import SimplePublicObjectInputForCreate as ObjectInputForCreate
from hubspot.crm.properties import OptionInput, PropertyCreate
from hubspot.crm.schemas import (
    ObjectSchemaEgg,
    ObjectTypeDefinitionLabels,
    ObjectTypePropertyCreate,
)

#: Every scope the CRM routes check.
CRM_SCOPES = [
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.objects.custom.read",
    "crm.objects.custom.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.schemas.custom.read",
    "crm.schemas.custom.write",
]


@dataclass
class Account:
    """A fresh account and an SDK client whose private-app token has `scopes` in it."""

    portal_id: int
    client: HubSpot


def account_with(chronik, scopes: list[str]) -> Account:
    portal_id = chronik.create_account()["portalId"]
    app = chronik.admin(
        "POST",
        f"/admin/v1/accounts/{portal_id}/private-apps",
        {"name": "sdk-crm", "scopes": scopes},
        expect=201,
    )
    client = HubSpot(access_token=app["token"], host=chronik.base_url, base_url=chronik.base_url)
    return Account(portal_id, client)


@pytest.fixture
def crm(chronik) -> Account:
    return account_with(chronik, CRM_SCOPES)


def error_body(exc) -> dict:
    """The JSON body of an SDK exception, after checking its correlation id against the header."""
    assert exc.body, f"no body on {exc!r}"
    body = json.loads(exc.body)
    header = exc.headers.get("x-hubspot-correlation-id")
    assert body.get("correlationId") == header, (body, header)
    uuid.UUID(header)
    assert body["status"] == "error", body
    return body


def unique() -> str:
    return uuid.uuid4().hex[:10]


@dataclass
class TypeCase:
    """One standard object type: its SDK package, a record to create, a change, and a property
    to search by."""

    name: str
    create: dict
    update: dict
    key: str
    created_property: str
    modified_property: str

    def models(self):
        return importlib.import_module(f"hubspot.crm.{self.name}")

    def api(self, client: HubSpot):
        return getattr(client.crm, self.name)


def type_cases() -> list[TypeCase]:
    u = unique()
    return [
        TypeCase(
            "contacts",
            {"email": f"ada-{u}@example.com", "firstname": "Ada"},
            {"lastname": "Lovelace"},
            "email",
            "createdate",
            "lastmodifieddate",
        ),
        TypeCase(
            "companies",
            {"name": f"Acme {u}", "domain": f"{u}.example"},
            {"city": "Berlin"},
            "domain",
            "createdate",
            "hs_lastmodifieddate",
        ),
        TypeCase(
            "deals",
            {"dealname": f"Deal {u}", "amount": "1250.50"},
            {"dealstage": "closedwon"},
            "dealname",
            "createdate",
            "hs_lastmodifieddate",
        ),
    ]


TYPES = {case.name: case for case in type_cases()}


def assert_record(record, case: TypeCase, expected: dict) -> None:
    """A `SimplePublicObject`: id, the sent values, the system properties, timestamps."""
    assert record is not None, "the SDK only returns a body for the declared status"
    assert record.id.isdigit(), record.id
    assert record.archived is False
    assert isinstance(record.created_at, dt.datetime) and record.created_at.tzinfo is not None
    assert record.updated_at >= record.created_at
    props = record.properties
    assert props["hs_object_id"] == record.id
    for name in (case.created_property, case.modified_property):
        assert dt.datetime.fromisoformat(props[name].replace("Z", "+00:00")), props
    for name, value in expected.items():
        assert props[name] == value, (name, props)


@pytest.mark.parametrize("type_name", list(TYPES))
def test_basic_api_create_get_update_get_page_and_archive(crm, type_name):
    case = TYPES[type_name]
    api = case.api(crm.client).basic_api
    m = case.models()

    created = api.create(m.SimplePublicObjectInputForCreate(properties=case.create))
    assert_record(created, case, case.create)
    record_id = created.id

    read = api.get_by_id(record_id, properties=[case.key, "hs_object_id"])
    assert read.id == record_id
    assert read.properties[case.key] == case.create[case.key]
    assert set(read.properties) == {
        case.key,
        "hs_object_id",
        case.created_property,
        case.modified_property,
    }

    updated = api.update(record_id, m.SimplePublicObjectInput(properties=case.update))
    assert_record(updated, case, {})
    assert updated.id == record_id
    assert updated.created_at == created.created_at
    assert updated.updated_at >= created.updated_at
    read = api.get_by_id(record_id, properties=list(case.update))
    for name, value in case.update.items():
        assert read.properties[name] == value

    second_value = f"second-{unique()}@example.com"
    second = api.create(m.SimplePublicObjectInputForCreate(properties={case.key: second_value}))
    page = api.get_page(limit=1, properties=[case.key])
    assert [r.id for r in page.results] == [record_id]
    assert page.paging.next.after == record_id
    rest = api.get_page(limit=1, after=page.paging.next.after, properties=[case.key])
    assert [r.id for r in rest.results] == [second.id]
    assert rest.paging is None

    assert api.archive(record_id) is None
    with pytest.raises(m.exceptions.NotFoundException) as raised:
        api.get_by_id(record_id)
    assert raised.value.status == 404
    body = error_body(raised.value)
    assert body["category"] == "OBJECT_NOT_FOUND"
    assert body["context"]["id"] == [record_id]
    archived = api.get_by_id(record_id, archived=True)
    assert archived.archived is True
    assert archived.archived_at is not None


def test_contacts_get_by_id_with_email_id_property_and_history(crm):
    api = crm.client.crm.contacts.basic_api
    from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate

    email = f"Grace-{unique()}@Example.com"
    created = api.create(
        SimplePublicObjectInputForCreate(properties={"email": email, "firstname": "Grace"})
    )
    api.update(created.id, SimplePublicObjectInput(properties={"firstname": "Amazing Grace"}))

    read = api.get_by_id(email.lower(), id_property="email", properties_with_history=["firstname"])
    assert read.id == created.id
    assert read.properties["email"] == email
    history = read.properties_with_history["firstname"]
    assert [h.value for h in history] == ["Amazing Grace", "Grace"]
    assert all(h.source_type == "API" for h in history)
    assert history[0].timestamp >= history[1].timestamp

    updated = api.update(
        email.upper(),
        SimplePublicObjectInput(properties={"lastname": "Hopper"}),
        id_property="email",
    )
    assert updated.id == created.id
    assert updated.properties["lastname"] == "Hopper"


def test_contacts_duplicate_email_is_409_naming_the_existing_id(crm):
    from hubspot.crm.contacts import ApiException, SimplePublicObjectInputForCreate

    api = crm.client.crm.contacts.basic_api
    email = f"dup-{unique()}@example.com"
    first = api.create(SimplePublicObjectInputForCreate(properties={"email": email}))
    with pytest.raises(ApiException) as raised:
        api.create(SimplePublicObjectInputForCreate(properties={"email": email.upper()}))
    assert raised.value.status == 409
    body = error_body(raised.value)
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {first.id}"


def test_invalid_property_values_are_400_naming_each_property(crm):
    from hubspot.crm.deals import ApiException, SimplePublicObjectInputForCreate

    with pytest.raises(ApiException) as raised:
        crm.client.crm.deals.basic_api.create(
            SimplePublicObjectInputForCreate(
                properties={"amount": "lots", "dealstage": "won", "colour": "red"}
            )
        )
    assert raised.value.status == 400
    body = error_body(raised.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert sorted((e["in"], e["code"]) for e in body["errors"]) == [
        ("properties.amount", "INVALID_PROPERTY_VALUE"),
        ("properties.colour", "PROPERTY_DOESNT_EXIST"),
        ("properties.dealstage", "INVALID_OPTION"),
    ]


def test_missing_scope_is_a_403_forbidden_exception(chronik):
    from hubspot.crm.contacts import SimplePublicObjectInputForCreate
    from hubspot.crm.contacts.exceptions import ForbiddenException

    reader = account_with(chronik, ["crm.objects.contacts.read"])
    with pytest.raises(ForbiddenException) as raised:
        reader.client.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={}))
    assert raised.value.status == 403
    body = error_body(raised.value)
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.contacts.write"]
    page = reader.client.crm.contacts.basic_api.get_page()
    assert page.results == []


@pytest.mark.parametrize("type_name", list(TYPES))
def test_batch_api_create_and_read(crm, type_name):
    case = TYPES[type_name]
    batch = case.api(crm.client).batch_api
    m = case.models()
    values = [f"{i}-{unique()}@example.com" for i in range(3)]

    created = batch.create(
        m.BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[m.SimplePublicObjectBatchInputForCreate(properties={case.key: v}) for v in values]
        )
    )
    assert created is not None, "201 with BatchResponseSimplePublicObject"
    assert created.status == "COMPLETE"
    assert [r.properties[case.key] for r in created.results] == values
    assert created.started_at <= created.completed_at
    ids = [r.id for r in created.results]

    read = batch.read(
        m.BatchReadInputSimplePublicObjectId(
            inputs=[m.SimplePublicObjectId(id=i) for i in reversed(ids)],
            properties=[case.key],
            properties_with_history=[],
        )
    )
    assert read.status == "COMPLETE"
    assert [r.id for r in read.results] == list(reversed(ids))
    assert [r.properties[case.key] for r in read.results] == list(reversed(values))

    # Some inputs fail: 207, the SDK's `...WithErrors` model, the others are stored.
    partial = batch.create(
        m.BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                m.SimplePublicObjectBatchInputForCreate(
                    properties={case.key: f"ok-{unique()}@example.com"}
                ),
                m.SimplePublicObjectBatchInputForCreate(properties={"no_such_property": "x"}),
            ]
        )
    )
    assert partial.num_errors == 1
    assert len(partial.results) == 1
    error = partial.errors[0]
    assert error.category == "VALIDATION_ERROR"
    assert error.context == {"inputIndex": ["1"]}
    assert error.errors[0]._in == "inputs[1].properties.no_such_property"

    missing = batch.read(
        m.BatchReadInputSimplePublicObjectId(
            inputs=[m.SimplePublicObjectId(id=ids[0]), m.SimplePublicObjectId(id="999999999")],
            properties=[],
            properties_with_history=[],
        )
    )
    assert [r.id for r in missing.results] == [ids[0]]
    assert missing.num_errors == 1
    assert missing.errors[0].category == "OBJECT_NOT_FOUND"


@pytest.mark.parametrize("type_name", list(TYPES))
def test_search_api_do_search(crm, type_name):
    case = TYPES[type_name]
    api = case.api(crm.client)
    m = case.models()
    u = unique()
    values = [f"{u}-{i}@example.com" for i in range(3)]
    ids = [
        api.basic_api.create(m.SimplePublicObjectInputForCreate(properties={case.key: v})).id
        for v in values
    ]

    found = api.search_api.do_search(
        m.PublicObjectSearchRequest(
            filter_groups=[
                m.FilterGroup(
                    filters=[m.Filter(property_name=case.key, operator="EQ", value=values[1].upper())]
                ),
                m.FilterGroup(
                    filters=[m.Filter(property_name="hs_object_id", operator="IN", values=[ids[2]])]
                ),
            ],
            properties=[case.key],
            sorts=[f"-{case.key}"],
            limit=10,
        )
    )
    assert found.total == 2
    assert [r.id for r in found.results] == [ids[2], ids[1]]
    assert found.results[0].properties[case.key] == values[2]
    assert found.paging is None

    first = api.search_api.do_search(
        m.PublicObjectSearchRequest(query=u, limit=2, sorts=["hs_object_id"])
    )
    assert first.total == 3
    assert [r.id for r in first.results] == ids[:2]
    assert first.paging.next.after == "2"
    rest = api.search_api.do_search(
        m.PublicObjectSearchRequest(
            query=u, limit=2, after=first.paging.next.after, sorts=["hs_object_id"]
        )
    )
    assert [r.id for r in rest.results] == ids[2:]

    with pytest.raises(m.ApiException) as raised:
        api.search_api.do_search(m.PublicObjectSearchRequest(limit=201))
    assert raised.value.status == 400
    body = error_body(raised.value)
    assert body["errors"][0]["in"] == "limit"
    assert "200" in body["errors"][0]["message"]


def car_egg(name: str) -> ObjectSchemaEgg:
    return ObjectSchemaEgg(
        name=name,
        labels=ObjectTypeDefinitionLabels(singular="Car", plural="Cars"),
        description="Cars we sold",
        primary_display_property="model",
        secondary_display_properties=["vin"],
        required_properties=["vin"],
        searchable_properties=["model", "vin"],
        associated_objects=["CONTACT"],
        properties=[
            ObjectTypePropertyCreate(
                name="vin", label="VIN", type="string", field_type="text", has_unique_value=True
            ),
            ObjectTypePropertyCreate(name="model", label="Model", type="string", field_type="text"),
            ObjectTypePropertyCreate(name="year", label="Year", type="number", field_type="number"),
        ],
    )


def test_schemas_core_api_create_get_all_get_by_id_then_objects_basic_api(crm):
    schemas = crm.client.crm.schemas.core_api
    assert schemas.get_all().results == []

    created = schemas.create(car_egg("cars"))
    assert created is not None, "201 with ObjectSchema"
    assert created.object_type_id == f"2-{created.id}"
    assert created.fully_qualified_name == f"p{crm.portal_id}_cars"
    assert created.name == "cars"
    assert created.labels.singular == "Car" and created.labels.plural == "Cars"
    assert created.required_properties == ["vin"]
    assert created.searchable_properties == ["model", "vin"]
    assert created.primary_display_property == "model"
    assert created.archived is False
    names = {p.name for p in created.properties}
    assert {"vin", "model", "year", "hs_object_id", "hs_createdate", "hs_lastmodifieddate"} <= names
    vin = next(p for p in created.properties if p.name == "vin")
    assert vin.has_unique_value is True and vin.type == "string"
    assert [(a.from_object_type_id, a.to_object_type_id) for a in created.associations] == [
        (created.object_type_id, "0-1")
    ]

    listed = schemas.get_all()
    assert [s.object_type_id for s in listed.results] == [created.object_type_id]
    for key in (created.object_type_id, created.fully_qualified_name):
        read = schemas.get_by_id(key)
        assert read.object_type_id == created.object_type_id
        assert read.fully_qualified_name == created.fully_qualified_name
        assert read.labels.plural == "Cars"

    objects = crm.client.crm.objects.basic_api
    car = objects.create(
        created.object_type_id,
        ObjectInputForCreate(properties={"vin": "WVW123", "model": "Golf", "year": "2019"}),
    )
    assert car is not None, "201 with SimplePublicObject"
    assert car.properties["vin"] == "WVW123"
    assert car.properties["model"] == "Golf"
    assert car.properties["hs_object_id"] == car.id
    assert "hs_createdate" in car.properties
    read = objects.get_by_id(created.fully_qualified_name, car.id, properties=["year"])
    assert read.properties["year"] == "2019"
    by_vin = objects.get_by_id(created.object_type_id, "wvw123", id_property="vin")
    assert by_vin.id == car.id

    from hubspot.crm.objects import ApiException

    with pytest.raises(ApiException) as raised:
        objects.create(created.object_type_id, ObjectInputForCreate(properties={"model": "Polo"}))
    assert raised.value.status == 400
    body = error_body(raised.value)
    assert body["errors"][0]["in"] == "properties.vin"
    assert body["errors"][0]["code"] == "MISSING_REQUIRED_PROPERTY"


def test_schemas_core_api_create_of_a_taken_name_is_409(crm):
    from hubspot.crm.schemas import ApiException

    crm.client.crm.schemas.core_api.create(car_egg("trucks"))
    with pytest.raises(ApiException) as raised:
        crm.client.crm.schemas.core_api.create(car_egg("Trucks"))
    assert raised.value.status == 409
    assert error_body(raised.value)["category"] == "CONFLICT"


def test_properties_core_api_create_then_records_take_the_property(crm):
    props = crm.client.crm.properties.core_api
    created = props.create(
        "contacts",
        PropertyCreate(
            name="favorite_color",
            label="Favorite color",
            type="enumeration",
            field_type="select",
            group_name="contactinformation",
            options=[
                OptionInput(label="Red", value="red", display_order=0, hidden=False),
                OptionInput(label="Blue", value="blue", display_order=1, hidden=False),
            ],
        ),
    )
    assert created is not None, "201 with Property"
    assert created.name == "favorite_color"
    assert created.label == "Favorite color"
    assert created.type == "enumeration"
    assert created.field_type == "select"
    assert created.group_name == "contactinformation"
    assert [(o.label, o.value) for o in created.options] == [("Red", "red"), ("Blue", "blue")]
    assert created.hubspot_defined is False
    assert created.modification_metadata.archivable is True
    assert created.created_at is not None

    read = props.get_by_name("contacts", "favorite_color")
    assert read.name == "favorite_color" and read.type == "enumeration"

    from hubspot.crm.contacts import ApiException, SimplePublicObjectInputForCreate

    contacts = crm.client.crm.contacts.basic_api
    contact = contacts.create(
        SimplePublicObjectInputForCreate(
            properties={"email": f"c-{unique()}@example.com", "favorite_color": "blue"}
        )
    )
    read = contacts.get_by_id(contact.id, properties=["favorite_color"])
    assert read.properties["favorite_color"] == "blue"
    with pytest.raises(ApiException) as raised:
        contacts.create(SimplePublicObjectInputForCreate(properties={"favorite_color": "green"}))
    assert raised.value.status == 400
    assert error_body(raised.value)["errors"][0]["code"] == "INVALID_OPTION"
