"""OAuth (`/oauth/v1/…`, api-reference §6) through `client.oauth` of the Python SDK 12.0.0.

One test per SDK method and outcome we support; the SDK sees our error bodies as `ApiException`
subclasses whose `body` is a string and whose `headers` carry `x-hubspot-correlation-id`
(api-reference §4.4, §4.5). The full error matrix lives in the Rust integration tests.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import pytest
from hubspot import HubSpot
from hubspot.oauth import ApiException
from hubspot.oauth.exceptions import NotFoundException

REDIRECT_URI = "https://app.example.test/oauth/callback"
SCOPES = ["crm.objects.contacts.read", "timeline"]


@dataclass
class Install:
    """An app installed into a fresh account, with everything the OAuth tests need."""

    portal_id: int
    app_id: int
    client_id: str
    client_secret: str
    user: str
    user_id: int
    scopes: list[str]
    access_token: str
    refresh_token: str


@pytest.fixture
def app(chronik) -> dict:
    """A fresh app (with its client credentials) and a fresh account to install it into."""
    app = chronik.create_app()
    account = chronik.create_account()
    return {**app, "portalId": account["portalId"]}


@pytest.fixture
def install(chronik, app) -> Install:
    """The app installed into its account by a named user, via the admin API."""
    user = f"installer-{uuid.uuid4().hex[:8]}@example.test"
    user_id = 7000 + uuid.uuid4().int % 1000
    out = chronik.admin(
        "POST",
        f"/admin/v1/apps/{app['appId']}/installs",
        {"portalId": app["portalId"], "scopes": SCOPES, "user": user, "userId": user_id},
        expect=201,
    )
    assert out["portalId"] == app["portalId"]
    return Install(
        portal_id=app["portalId"],
        app_id=app["appId"],
        client_id=app["clientId"],
        client_secret=app["clientSecret"],
        user=user,
        user_id=user_id,
        scopes=list(out["scopes"]),
        access_token=out["accessToken"],
        refresh_token=out["refreshToken"],
    )


def bearer_client(chronik, access_token: str) -> HubSpot:
    """An SDK client with an access token; `base_url` too, because `api_request` reads only it."""
    return HubSpot(access_token=access_token, host=chronik.base_url, base_url=chronik.base_url)


def error_body(exc: ApiException) -> dict:
    """The JSON body of an SDK exception, after checking that its `correlationId` is a UUID equal
    to the `x-hubspot-correlation-id` header."""
    assert exc.body, f"no body on {exc!r}"
    body = json.loads(exc.body)
    header = exc.headers.get("x-hubspot-correlation-id")
    assert header, f"no x-hubspot-correlation-id header: {dict(exc.headers)}"
    assert body.get("correlationId") == header, (body, header)
    uuid.UUID(header)
    return body


def assert_oauth_error(exc: ApiException, status: str, error: str) -> dict:
    """HubSpot's OAuth error shape (§4.5): HTTP 400, `status` word, RFC 6749 `error`."""
    assert type(exc) is ApiException, f"expected a plain ApiException, got {type(exc).__name__}"
    assert exc.status == 400
    body = error_body(exc)
    assert body["status"] == status, body
    assert body["error"] == error, body
    assert body["message"], body
    assert body["error_description"], body
    return body


def assert_not_found(exc: NotFoundException) -> dict:
    assert exc.status == 404
    body = error_body(exc)
    assert body["status"] == "error", body
    assert body["category"] == "OBJECT_NOT_FOUND", body
    assert body["message"], body
    return body


def account_details(chronik, access_token: str):
    """`GET /account-info/v3/details` through the SDK's raw `api_request`."""
    return bearer_client(chronik, access_token).api_request(
        {"method": "GET", "path": "/account-info/v3/details"}
    )


def refresh(sdk, install, **overrides):
    args = dict(
        grant_type="refresh_token",
        client_id=install.client_id,
        client_secret=install.client_secret,
        refresh_token=install.refresh_token,
        redirect_uri=REDIRECT_URI,
    )
    args.update(overrides)
    return sdk.oauth.tokens_api.create(**args)


def authorization_code(chronik, app, user: str, user_id: int) -> str:
    out = chronik.admin(
        "POST",
        f"/admin/v1/apps/{app['appId']}/authorization-codes",
        {
            "portalId": app["portalId"],
            "scopes": SCOPES,
            "redirectUri": REDIRECT_URI,
            "user": user,
            "userId": user_id,
        },
        expect=201,
    )
    assert out["redirectUri"] == REDIRECT_URI
    return out["code"]


def exchange(sdk, app, code: str, redirect_uri: str = REDIRECT_URI):
    return sdk.oauth.tokens_api.create(
        grant_type="authorization_code",
        code=code,
        redirect_uri=redirect_uri,
        client_id=app["clientId"],
        client_secret=app["clientSecret"],
    )


# -- tokens_api.create: authorization_code ------------------------------------------------------


def test_authorization_code_grant_issues_tokens_for_the_consenting_user(chronik, sdk, app):
    code = authorization_code(chronik, app, "consent@example.test", 4242)

    tokens = exchange(sdk, app, code)

    assert tokens.token_type == "bearer"
    assert tokens.expires_in == chronik.access_token_ttl
    assert tokens.access_token and tokens.refresh_token
    assert tokens.access_token != tokens.refresh_token

    info = sdk.oauth.access_tokens_api.get(tokens.access_token)
    assert info.token == tokens.access_token
    assert info.hub_id == app["portalId"]
    assert info.app_id == app["appId"]
    assert info.user == "consent@example.test"
    assert info.user_id == 4242
    assert sorted(info.scopes) == sorted(SCOPES)
    assert info.token_type == "access"

    refresh_info = sdk.oauth.refresh_tokens_api.get(tokens.refresh_token)
    assert refresh_info.hub_id == app["portalId"]
    assert refresh_info.client_id == app["clientId"]
    assert refresh_info.user == "consent@example.test"

    details = account_details(chronik, tokens.access_token)
    assert details.status_code == 200
    assert details.json()["portalId"] == app["portalId"]


def test_authorization_code_can_be_redeemed_only_once(chronik, sdk, app):
    code = authorization_code(chronik, app, "once@example.test", 1)
    exchange(sdk, app, code)

    with pytest.raises(ApiException) as caught:
        exchange(sdk, app, code)

    assert_oauth_error(caught.value, "BAD_AUTH_CODE", "invalid_grant")


def test_authorization_code_for_another_redirect_uri_is_rejected(chronik, sdk, app):
    code = authorization_code(chronik, app, "redirect@example.test", 1)

    with pytest.raises(ApiException) as caught:
        exchange(sdk, app, code, redirect_uri="https://elsewhere.example.test/cb")

    assert_oauth_error(caught.value, "BAD_AUTH_CODE", "invalid_grant")


def test_token_response_carries_the_current_specs_extra_fields(chronik, sdk, app):
    # SDK 12.0.0's TokenResponseIF drops hub_id/scopes/token_use; read the raw response the SDK
    # received to check that we send them (api-reference §6, token response table).
    code = authorization_code(chronik, app, "raw@example.test", 99)

    raw = sdk.oauth.tokens_api.create(
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        client_id=app["clientId"],
        client_secret=app["clientSecret"],
        _preload_content=False,
    )

    assert raw.status == 200
    body = json.loads(raw.data)
    assert body["hub_id"] == app["portalId"]
    assert body["user_id"] == 99
    assert sorted(body["scopes"]) == sorted(SCOPES)
    assert body["token_use"] == "access_token"
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == chronik.access_token_ttl


# -- tokens_api.create: refresh_token -----------------------------------------------------------


def test_refresh_token_grant_returns_a_new_working_access_token(chronik, sdk, install):
    tokens = refresh(sdk, install)

    assert tokens.token_type == "bearer"
    assert tokens.expires_in == chronik.access_token_ttl
    assert tokens.access_token and tokens.access_token != install.access_token
    assert tokens.refresh_token == install.refresh_token

    details = account_details(chronik, tokens.access_token)
    assert details.status_code == 200, details.text
    assert details.json()["portalId"] == install.portal_id

    info = sdk.oauth.access_tokens_api.get(tokens.access_token)
    assert info.hub_id == install.portal_id
    assert info.app_id == install.app_id
    assert info.user == install.user
    assert info.user_id == install.user_id
    assert sorted(info.scopes) == sorted(install.scopes)


def test_refresh_after_revoke_is_bad_refresh_token(chronik, sdk, install):
    assert sdk.oauth.refresh_tokens_api.archive(install.refresh_token) is None

    with pytest.raises(ApiException) as caught:
        refresh(sdk, install)

    body = assert_oauth_error(caught.value, "BAD_REFRESH_TOKEN", "invalid_grant")
    assert "refresh token" in body["message"]


def test_wrong_client_secret_is_bad_client_secret_and_leaves_the_token_usable(sdk, install):
    with pytest.raises(ApiException) as caught:
        refresh(sdk, install, client_secret=install.client_secret + "x")

    assert_oauth_error(caught.value, "BAD_CLIENT_SECRET", "invalid_client")
    assert refresh(sdk, install).access_token


def test_unknown_client_id_is_bad_client_id(sdk, install):
    with pytest.raises(ApiException) as caught:
        refresh(sdk, install, client_id=str(uuid.uuid4()))

    assert_oauth_error(caught.value, "BAD_CLIENT_ID", "invalid_client")


def test_refresh_token_of_another_app_is_bad_refresh_token(chronik, sdk, install):
    other = chronik.create_app()

    with pytest.raises(ApiException) as caught:
        refresh(sdk, install, client_id=other["clientId"], client_secret=other["clientSecret"])

    assert_oauth_error(caught.value, "BAD_REFRESH_TOKEN", "invalid_grant")


def test_unsupported_grant_type_is_bad_grant_type(sdk, install):
    with pytest.raises(ApiException) as caught:
        refresh(sdk, install, grant_type="password")

    assert_oauth_error(caught.value, "BAD_GRANT_TYPE", "unsupported_grant_type")


# -- access_tokens_api.get ----------------------------------------------------------------------


def test_access_token_info_describes_the_install(chronik, sdk, install):
    info = sdk.oauth.access_tokens_api.get(install.access_token)

    assert info.token == install.access_token
    assert info.hub_id == install.portal_id
    assert info.app_id == install.app_id
    assert info.user == install.user
    assert info.user_id == install.user_id
    assert sorted(info.scopes) == sorted(SCOPES)
    assert info.token_type == "access"
    assert info.hub_domain
    assert chronik.access_token_ttl - 60 <= info.expires_in <= chronik.access_token_ttl


def test_unknown_access_token_is_not_found(sdk):
    with pytest.raises(NotFoundException) as caught:
        sdk.oauth.access_tokens_api.get("chronik-at-na1-" + uuid.uuid4().hex)

    assert_not_found(caught.value)


def test_unknown_token_with_reserved_characters_is_not_found(sdk):
    # The SDK percent-encodes the path token with no safe characters (a b/c → a%20b%2Fc).
    with pytest.raises(NotFoundException) as caught:
        sdk.oauth.access_tokens_api.get("no such/token?@#%")

    assert_not_found(caught.value)


def test_revoking_the_refresh_token_revokes_its_access_tokens(chronik, sdk, install):
    refreshed = refresh(sdk, install)
    sdk.oauth.refresh_tokens_api.archive(install.refresh_token)

    for token in (install.access_token, refreshed.access_token):
        with pytest.raises(NotFoundException) as caught:
            sdk.oauth.access_tokens_api.get(token)
        assert_not_found(caught.value)

        details = account_details(chronik, token)
        assert details.status_code == 401
        body = details.json()
        assert body["status"] == "error"
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["correlationId"] == details.headers["x-hubspot-correlation-id"]


# -- refresh_tokens_api.get / archive -----------------------------------------------------------


def test_refresh_token_info_describes_the_install(sdk, install):
    info = sdk.oauth.refresh_tokens_api.get(install.refresh_token)

    assert info.token == install.refresh_token
    assert info.hub_id == install.portal_id
    assert info.client_id == install.client_id
    assert info.user == install.user
    assert info.user_id == install.user_id
    assert sorted(info.scopes) == sorted(SCOPES)
    assert info.token_type == "refresh"
    assert info.hub_domain


def test_archived_refresh_token_is_not_found(sdk, install):
    sdk.oauth.refresh_tokens_api.archive(install.refresh_token)

    with pytest.raises(NotFoundException) as caught:
        sdk.oauth.refresh_tokens_api.get(install.refresh_token)
    assert_not_found(caught.value)

    with pytest.raises(NotFoundException) as caught:
        sdk.oauth.refresh_tokens_api.archive(install.refresh_token)
    assert_not_found(caught.value)


# -- /account-info/v3/details through api_request -------------------------------------------------


def test_account_details_reject_an_unknown_bearer(chronik):
    response = account_details(chronik, "pat-na1-" + str(uuid.uuid4()))

    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "error"
    assert body["category"] == "INVALID_AUTHENTICATION"
    assert body["correlationId"] == response.headers["x-hubspot-correlation-id"]
