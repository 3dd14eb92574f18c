// OAuth (`/oauth/v1/…`, api-reference §6) through `oauth.{tokensApi,accessTokensApi,
// refreshTokensApi}` of `@hubspot/api-client` 14, and `/account-info/v3/details` through its raw
// `client.apiRequest`. Apps, installs and authorization codes are made through /admin/v1. A
// refused token request is an `ApiException` with HTTP 400 whose body has HubSpot's OAuth
// `status` word, the RFC 6749 `error` and the `category` HubSpot's OAuth `Error` schema requires.

'use strict';

const assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const { ACCESS_TOKEN_TTL_SECS, assertMillisTimestamps, raw, sdkError, serverFor, unique } = require('./chronik');

const server = serverFor();

const REDIRECT_URI = 'https://app.example.test/oauth/callback';
const SCOPES = ['crm.objects.contacts.read', 'timeline'];

/** A fresh app and a fresh account to install it into. */
async function appAndAccount() {
  const app = await server.createApp();
  assertMillisTimestamps({ createdAt: app.createdAt }, 'admin app');
  const { portalId } = await server.createAccount();
  return { ...app, portalId };
}

async function authorizationCode(app, user, userId) {
  const out = await server.admin(
    'POST',
    `/admin/v1/apps/${app.appId}/authorization-codes`,
    { portalId: app.portalId, scopes: SCOPES, redirectUri: REDIRECT_URI, user, userId },
    201,
  );
  return out.code;
}

async function install(app) {
  const user = `installer-${unique()}@example.test`;
  const out = await server.admin(
    'POST',
    `/admin/v1/apps/${app.appId}/installs`,
    { portalId: app.portalId, scopes: SCOPES, user, userId: 7001 },
    201,
  );
  return { ...out, user };
}

const tokens = () => server.client().oauth.tokensApi;

/** The refused token request's body, checked for HubSpot's OAuth error shape. */
async function refusal(call, status, error) {
  const body = await sdkError(call, 400);
  assert.equal(body.status, status);
  assert.equal(body.error, error);
  assert.equal(body.error_description, body.message);
  assert.equal(body.category, 'VALIDATION_ERROR', 'B4: category beside the status word');
  return body;
}

describe('tokensApi.create', () => {
  test('authorization_code: tokens for the consenting user; introspection; account details', async () => {
    const app = await appAndAccount();
    const code = await authorizationCode(app, 'consent@example.test', 4242);
    const issued = await tokens().create('authorization_code', code, REDIRECT_URI, app.clientId, app.clientSecret);
    assert.equal(issued.tokenType, 'bearer');
    assert.equal(issued.expiresIn, ACCESS_TOKEN_TTL_SECS);
    assert.ok(issued.accessToken && issued.refreshToken && issued.accessToken !== issued.refreshToken);

    const oauth = server.client().oauth;
    const info = await oauth.accessTokensApi.get(issued.accessToken);
    assert.equal(info.hubId, app.portalId);
    assert.equal(info.appId, app.appId);
    assert.equal(info.user, 'consent@example.test');
    assert.equal(info.userId, 4242);
    assert.deepEqual([...info.scopes].sort(), [...SCOPES].sort());
    assert.equal(info.tokenType, 'access');
    assert.ok(info.expiresIn > ACCESS_TOKEN_TTL_SECS - 60 && info.expiresIn <= ACCESS_TOKEN_TTL_SECS);

    const refreshInfo = await oauth.refreshTokensApi.get(issued.refreshToken);
    assert.equal(refreshInfo.clientId, app.clientId);
    assert.equal(refreshInfo.hubId, app.portalId);
    assert.equal(refreshInfo.tokenType, 'refresh');

    const details = await raw(server.client({ accessToken: issued.accessToken }), 'GET', '/account-info/v3/details');
    assert.equal(details.status, 200);
    assert.equal(details.body.portalId, app.portalId);
  });

  test('an authorization code is redeemed once; then BAD_AUTH_CODE with category', async () => {
    const app = await appAndAccount();
    const code = await authorizationCode(app, 'once@example.test', 1);
    await tokens().create('authorization_code', code, REDIRECT_URI, app.clientId, app.clientSecret);
    await refusal(
      () => tokens().create('authorization_code', code, REDIRECT_URI, app.clientId, app.clientSecret),
      'BAD_AUTH_CODE',
      'invalid_grant',
    );
  });

  test('refresh_token: a new working access token, the same refresh token', async () => {
    const app = await appAndAccount();
    const installed = await install(app);
    const refreshed = await tokens().create(
      'refresh_token', undefined, undefined, app.clientId, app.clientSecret, installed.refreshToken,
    );
    assert.equal(refreshed.refreshToken, installed.refreshToken);
    assert.notEqual(refreshed.accessToken, installed.accessToken);
    assert.equal(refreshed.expiresIn, ACCESS_TOKEN_TTL_SECS);
    const details = await raw(server.client({ accessToken: refreshed.accessToken }), 'GET', '/account-info/v3/details');
    assert.equal(details.body.portalId, app.portalId);
    const info = await server.client().oauth.accessTokensApi.get(refreshed.accessToken);
    assert.equal(info.user, installed.user);
  });

  test('every refusal is a 400 with the status word, the RFC 6749 error and category', async () => {
    const app = await appAndAccount();
    const installed = await install(app);
    const other = await server.createApp();
    const cases = [
      [['refresh_token', undefined, undefined, 'nobody', 'x', installed.refreshToken], 'BAD_CLIENT_ID', 'invalid_client'],
      [['refresh_token', undefined, undefined, app.clientId, 'wrong', installed.refreshToken], 'BAD_CLIENT_SECRET', 'invalid_client'],
      [['refresh_token', undefined, undefined, app.clientId, app.clientSecret, 'chronik-rt-na1-unknown'], 'BAD_REFRESH_TOKEN', 'invalid_grant'],
      [['refresh_token', undefined, undefined, other.clientId, other.clientSecret, installed.refreshToken], 'BAD_REFRESH_TOKEN', 'invalid_grant'],
      [['authorization_code', 'chronik-code-unknown', REDIRECT_URI, app.clientId, app.clientSecret], 'BAD_AUTH_CODE', 'invalid_grant'],
      [['authorization_code', 'x', undefined, app.clientId, app.clientSecret], 'BAD_REDIRECT_URI', 'invalid_request'],
      [['password', undefined, undefined, app.clientId, app.clientSecret], 'BAD_GRANT_TYPE', 'unsupported_grant_type'],
    ];
    for (const [args, status, error] of cases) {
      await refusal(() => tokens().create(...args), status, error);
    }
    // None of them used the refresh token up.
    const ok = await tokens().create('refresh_token', undefined, undefined, app.clientId, app.clientSecret, installed.refreshToken);
    assert.ok(ok.accessToken);
  });
});

describe('introspection and revocation', () => {
  test('revoking the refresh token revokes it and its access tokens', async () => {
    const app = await appAndAccount();
    const installed = await install(app);
    const oauth = server.client().oauth;
    assert.equal(await oauth.refreshTokensApi.archive(installed.refreshToken), undefined);

    const gone = await sdkError(() => oauth.refreshTokensApi.get(installed.refreshToken), 404);
    assert.equal(gone.category, 'OBJECT_NOT_FOUND');
    const access = await sdkError(() => oauth.accessTokensApi.get(installed.accessToken), 404);
    assert.equal(access.category, 'OBJECT_NOT_FOUND');
    await refusal(
      () => tokens().create('refresh_token', undefined, undefined, app.clientId, app.clientSecret, installed.refreshToken),
      'BAD_REFRESH_TOKEN',
      'invalid_grant',
    );

    const details = await raw(server.client({ accessToken: installed.accessToken }), 'GET', '/account-info/v3/details');
    assert.equal(details.status, 401);
    assert.equal(details.body.category, 'INVALID_AUTHENTICATION');
    assert.equal(details.body.correlationId, details.headers.get('x-hubspot-correlation-id'));
  });

  test('an unknown token with reserved characters is a 404', async () => {
    const body = await sdkError(() => server.client().oauth.accessTokensApi.get('no such/token?@#%'), 404);
    assert.equal(body.category, 'OBJECT_NOT_FOUND');
    assert.equal(body.status, 'error');
  });
});
