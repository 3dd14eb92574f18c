"""App objects through the Python SDK 12.0.0: an app's project is deployed with the real
`chronik project upload` (its app-objects/*-hsmeta.json), the app is installed into an account,
and the install's OAuth token drives `client.crm.objects.basic_api` and
`client.crm.objects.search_api` on the deployed type, by objectTypeId and by fully qualified name.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from hubspot import HubSpot
from hubspot.crm.objects import (
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)

from chronik_harness import chronik_bin

APP_OBJECT = {
    "uid": "car_object",
    "type": "app-object",
    "config": {
        "name": "CAR",
        "description": "Cars on the lot",
        "singularForm": "Car",
        "pluralForm": "Cars",
        "primaryDisplayLabelPropertyName": "model",
        "secondaryDisplayLabelPropertyNames": ["year"],
        "properties": [
            {"name": "model", "label": "Model", "type": "string", "fieldType": "text"},
            {"name": "year", "label": "Year", "type": "number", "fieldType": "number"},
            {
                "name": "make",
                "label": "Make",
                "type": "enumeration",
                "fieldType": "select",
                "options": [{"label": "Ford", "value": "ford"}, {"label": "BMW", "value": "bmw"}],
            },
        ],
    },
}


def write_project(root) -> None:
    (root / "hsproject.json").write_text(json.dumps({"name": "lot", "srcDir": "src"}))
    app_dir = root / "src" / "app"
    (app_dir / "app-objects").mkdir(parents=True)
    (app_dir / "app-hsmeta.json").write_text(
        json.dumps({"uid": "lot_app", "type": "app", "config": {"name": "Lot"}})
    )
    (app_dir / "app-objects" / "car-hsmeta.json").write_text(json.dumps(APP_OBJECT))


def upload(chronik, root, developer_key: str) -> dict:
    done = subprocess.run(
        [
            str(chronik_bin()),
            "project",
            "upload",
            str(root),
            "--url",
            chronik.base_url,
            "--developer-key",
            developer_key,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def lot(chronik, tmp_path):
    """An app with the CAR object deployed and installed into a fresh account; the SDK client of
    the install, the app id and CAR's type id."""
    app = chronik.create_app()
    write_project(tmp_path)
    deployed = upload(chronik, tmp_path, app["developerApiKey"])
    [car] = deployed["appObjects"]
    assert car["name"] == "CAR" and car["change"] == "CREATED"
    assert car["objectTypeId"].startswith("4-")
    assert car["fullyQualifiedName"] == f"a{app['appId']}_CAR"
    portal_id = chronik.create_account()["portalId"]
    install = chronik.admin(
        "POST",
        f"/admin/v1/apps/{app['appId']}/installs",
        {"portalId": portal_id, "scopes": ["crm.objects.custom.read", "crm.objects.custom.write"]},
        expect=201,
    )
    client = HubSpot(
        access_token=install["accessToken"], host=chronik.base_url, base_url=chronik.base_url
    )
    return client, app["appId"], car["objectTypeId"]


def test_objects_basic_api_on_an_app_object(lot):
    client, app_id, type_id = lot
    p = lambda name: f"a{app_id}_{name}"  # noqa: E731
    objects = client.crm.objects.basic_api
    car = objects.create(
        type_id,
        SimplePublicObjectInputForCreate(
            properties={p("model"): "Model T", p("year"): "1908", p("make"): "ford"}
        ),
    )
    assert car is not None, "201 with SimplePublicObject"
    assert car.properties[p("model")] == "Model T"
    assert car.properties["hs_object_id"] == car.id

    read = objects.get_by_id(f"a{app_id}_CAR", car.id)
    assert read.properties[p("model")] == "Model T"
    assert read.properties[p("year")] == "1908", "display properties come by default"
    assert p("make") not in read.properties
    with_make = objects.get_by_id(type_id, car.id, properties=[p("make")])
    assert with_make.properties[p("make")] == "ford"

    updated = objects.update(type_id, car.id, SimplePublicObjectInput(properties={p("year"): "1909"}))
    assert updated.properties[p("year")] == "1909"
    page = objects.get_page(type_id, limit=10)
    assert [r.id for r in page.results] == [car.id]

    from hubspot.crm.objects import ApiException

    with pytest.raises(ApiException) as raised:
        objects.create(type_id, SimplePublicObjectInputForCreate(properties={"model": "Model A"}))
    assert raised.value.status == 400
    body = json.loads(raised.value.body)
    assert [e["in"] for e in body["errors"]] == ["properties.model"]


def test_objects_search_api_on_an_app_object(lot):
    client, app_id, type_id = lot
    p = lambda name: f"a{app_id}_{name}"  # noqa: E731
    objects = client.crm.objects.basic_api
    for model, year in (("Model T", "1908"), ("Mini", "1959"), ("Golf", "1974")):
        objects.create(
            type_id,
            SimplePublicObjectInputForCreate(properties={p("model"): model, p("year"): year}),
        )
    found = client.crm.objects.search_api.do_search(
        type_id,
        PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(filters=[Filter(property_name=p("year"), operator="GTE", value="1950")])
            ],
            sorts=[p("year")],
            properties=[p("model")],
        ),
    )
    assert found.total == 2
    assert [r.properties[p("model")] for r in found.results] == ["Mini", "Golf"]
    by_query = client.crm.objects.search_api.do_search(
        type_id, PublicObjectSearchRequest(query="golf")
    )
    assert [r.properties[p("model")] for r in by_query.results] == ["Golf"]
