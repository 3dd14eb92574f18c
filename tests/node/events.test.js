// Custom behavioral events (api-reference §1) through `@hubspot/api-client` 14:
// `events.send.basicApi`, `events.send.batchApi` and `events.eventsApi`. The SDK has no
// event-definitions API, so definitions go through its raw `client.apiRequest`. Both `send`
// methods resolve with nothing on their declared 204, so every send is checked by reading the
// completions back. The full error matrix lives in the Rust integration tests
// (crates/chronik-server/tests/it/events_*.rs).

'use strict';

const assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const { assertMillisTimestamps, raw, sdkError, serverFor, unique } = require('./chronik');

const server = serverFor();

const SEND_SCOPE = 'analytics.behavioral_events.send';
const DEFINITIONS_SCOPE = 'behavioral_events.event_definitions.read_write';
const EVENT_SCOPES = [SEND_SCOPE, DEFINITIONS_SCOPE, 'crm.objects.contacts.read', 'crm.objects.contacts.write'];
const DEFINITIONS = '/events/v3/event-definitions';

/** Completions in the tests happen at whole seconds after this instant. */
const T0 = Date.parse('2024-01-01T00:00:00.000Z');
const at = (seconds) => new Date(T0 + seconds * 1000);

const SIGNUP_PROPERTIES = [
  {
    name: 'plan',
    label: 'Plan',
    type: 'enumeration',
    options: [{ label: 'Free', value: 'free' }, { label: 'Pro', value: 'pro' }],
  },
  { name: 'seats', label: 'Seats', type: 'number' },
  { name: 'note', label: 'Note', type: 'string' },
];

/** A fresh account that may send and define, with helpers for what every test needs. */
async function account() {
  const acct = await server.accountWith(EVENT_SCOPES);
  acct.define = async (name, propertyDefinitions = []) => {
    const r = await raw(acct.client, 'POST', DEFINITIONS, { label: name, name, propertyDefinitions });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  };
  acct.contact = async (email) =>
    (await acct.client.crm.contacts.basicApi.create({ properties: { email }, associations: [] })).id;
  return acct;
}

describe('definitions through apiRequest', () => {
  test('create, get, list, patch, add a property, delete', async () => {
    const acct = await account();
    const created = await raw(acct.client, 'POST', DEFINITIONS, {
      label: 'Webinar Joined',
      name: 'webinar_joined',
      description: 'Someone joined a webinar',
      propertyDefinitions: SIGNUP_PROPERTIES,
    });
    assert.equal(created.status, 201);
    const fqn = `pe${acct.portalId}_webinar_joined`;
    assert.equal(created.body.fullyQualifiedName, fqn);
    assert.deepEqual(created.body.labels, { singular: 'Webinar Joined' });
    assert.equal(created.body.primaryObject, 'CONTACT');
    assert.equal(created.body.objectTypeId, `6-${created.body.id}`);
    assert.deepEqual(created.body.properties.slice(0, 3).map((p) => p.name), ['plan', 'seats', 'note']);
    assertMillisTimestamps(
      { createdAt: created.body.createdAt, updatedAt: created.body.updatedAt },
      'definition',
    );

    const read = await raw(acct.client, 'GET', `${DEFINITIONS}/webinar_joined`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, created.body);

    await acct.define('purchase');
    const listed = await raw(acct.client, 'GET', DEFINITIONS);
    assert.equal(listed.body.total, 2);
    assert.deepEqual(listed.body.results.map((d) => d.name), ['purchase', 'webinar_joined']);

    const patched = await raw(acct.client, 'PATCH', `${DEFINITIONS}/webinar_joined`, { label: 'Webinar Attended' });
    assert.equal(patched.status, 201);
    assert.equal(patched.body.labels.singular, 'Webinar Attended');
    assert.equal(patched.body.fullyQualifiedName, fqn);

    const added = await raw(acct.client, 'POST', `${DEFINITIONS}/webinar_joined/property`, {
      label: 'Minutes Watched',
      type: 'number',
    });
    assert.equal(added.status, 201);
    assert.deepEqual([added.body.name, added.body.type], ['minutes_watched', 'number']);

    const contact = await acct.contact(`webinar-${unique()}@example.com`);
    await acct.client.events.send.basicApi.send({
      eventName: fqn, objectId: contact, uuid: 'w-1', properties: { minutes_watched: '42' },
    });
    const page = await acct.client.events.eventsApi.getPage(undefined, fqn);
    assert.deepEqual(page.results.map((e) => e.properties), [{ minutes_watched: '42' }]);

    const deleted = await raw(acct.client, 'DELETE', `${DEFINITIONS}/webinar_joined`);
    assert.equal(deleted.status, 204);
    const gone = await raw(acct.client, 'GET', `${DEFINITIONS}/webinar_joined`);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.category, 'OBJECT_NOT_FOUND');
    assert.deepEqual((await acct.client.events.eventsApi.getTypes()).eventTypes, [`pe${acct.portalId}_purchase`]);
  });
});

describe('send', () => {
  test('basicApi.send stores every value; eventsApi.getPage reads them back', async () => {
    const acct = await account();
    const signup = (await acct.define('signup', SIGNUP_PROPERTIES)).fullyQualifiedName;
    const contact = await acct.contact(`ada-${unique()}@example.com`);
    const occurred = new Date('2024-01-02T03:04:05.123Z');
    const send = acct.client.events.send.basicApi;

    assert.equal(
      await send.send({
        eventName: signup,
        objectId: contact,
        occurredAt: occurred,
        uuid: 'first',
        properties: { plan: 'pro', Seats: '12', hs_city: 'Cambridge' },
      }),
      undefined,
    );
    await send.send({ eventName: signup, objectId: contact, occurredAt: at(86400 + 3 * 3600 + 4 * 60 + 6), uuid: 'second' });

    const page = await acct.client.events.eventsApi.getPage(undefined, signup);
    assert.equal(page.paging, undefined);
    assert.deepEqual(page.results.map((e) => e.id), ['second', 'first']);
    const first = page.results[1];
    assert.equal(first.objectType, 'CONTACT');
    assert.equal(first.objectId, contact);
    assert.equal(first.eventType, signup);
    assert.ok(first.occurredAt instanceof Date);
    assert.equal(first.occurredAt.getTime(), occurred.getTime());
    assert.deepEqual(first.properties, { plan: 'pro', seats: '12', hs_city: 'Cambridge' });

    // On the wire occurredAt keeps its milliseconds, ".000" included.
    const wire = await raw(acct.client, 'GET', `/events/v3/events/?eventType=${signup}`);
    assert.deepEqual(wire.body.results.map((e) => e.occurredAt), [
      '2024-01-02T03:04:06.000Z',
      '2024-01-02T03:04:05.123Z',
    ]);
  });

  test('send by email creates the contact; a repeated uuid keeps the first completion', async () => {
    const acct = await account();
    const signup = (await acct.define('signup', SIGNUP_PROPERTIES)).fullyQualifiedName;
    const email = `Grace-${unique()}@Example.com`;
    const send = acct.client.events.send.basicApi;
    await send.send({ eventName: signup, email, uuid: 'by-email', occurredAt: at(1), properties: { note: 'first' } });
    await send.send({ eventName: signup, email: email.toUpperCase(), uuid: 'by-email', properties: { note: 'again' } });
    const contact = await acct.client.crm.contacts.basicApi.getById(
      email.toLowerCase(), undefined, undefined, undefined, false, 'email',
    );
    assert.equal(contact.properties.email, email);
    const found = await acct.client.events.eventsApi.getPage('contact', undefined, undefined, undefined,
      undefined, undefined, undefined, undefined, Number(contact.id));
    assert.deepEqual(found.results.map((e) => [e.id, e.objectId, e.properties.note]), [
      ['by-email', contact.id, 'first'],
    ]);
  });

  test('batchApi.send stores all; getPage filters by object, time window, id, and pages', async () => {
    const acct = await account();
    const signup = (await acct.define('signup', SIGNUP_PROPERTIES)).fullyQualifiedName;
    const ada = await acct.contact(`ada-${unique()}@example.com`);
    const bob = await acct.contact(`bob-${unique()}@example.com`);
    const inputs = Array.from({ length: 60 }, (_, i) => ({
      eventName: signup,
      objectId: i % 10 === 0 ? bob : ada,
      occurredAt: at(i),
      uuid: `b-${String(i).padStart(3, '0')}`,
      properties: { seats: String(i), plan: i % 2 ? 'pro' : 'free' },
    }));
    assert.equal(await acct.client.events.send.batchApi.send({ inputs }), undefined);

    const api = acct.client.events.eventsApi;
    const adas = inputs.filter((_, i) => i % 10 !== 0).map((e) => e.uuid);
    const seen = [];
    let page = await api.getPage('contact', signup, undefined, undefined, 20, ['DESCENDING'],
      undefined, undefined, Number(ada));
    for (;;) {
      for (const e of page.results) {
        assert.equal(e.objectId, ada);
        const i = Number(e.id.slice(2));
        assert.equal(e.occurredAt.getTime(), at(i).getTime());
        assert.deepEqual(e.properties, { seats: String(i), plan: i % 2 ? 'pro' : 'free' });
      }
      seen.push(...page.results.map((e) => e.id));
      if (!page.paging || !page.paging.next) break;
      page = await api.getPage('contact', signup, page.paging.next.after, undefined, 20, ['DESCENDING'],
        undefined, undefined, Number(ada));
    }
    assert.deepEqual(seen, [...adas].reverse(), 'newest first, each completion once');

    const window = await api.getPage(undefined, signup, undefined, undefined, 100, ['ASCENDING'], at(10), at(19));
    assert.deepEqual(window.results.map((e) => e.id), inputs.slice(10, 20).map((e) => e.uuid));

    const byId = await api.getPage(undefined, undefined, undefined, undefined, undefined, undefined,
      undefined, undefined, undefined, undefined, undefined, ['b-007', 'b-020', 'nope']);
    assert.deepEqual(byId.results.map((e) => [e.id, e.objectId]), [['b-020', bob], ['b-007', ada]]);

    assert.deepEqual((await api.getTypes()).eventTypes, [signup]);
  });
});

describe('error paths', () => {
  test('a bad batch input is a 400 naming its index, and nothing is stored', async () => {
    const acct = await account();
    const signup = (await acct.define('signup', SIGNUP_PROPERTIES)).fullyQualifiedName;
    const contact = await acct.contact(`bad-${unique()}@example.com`);
    const inputs = [0, 1, 2].map((i) => ({ eventName: signup, objectId: contact, uuid: `ok-${i}`, properties: { seats: String(i) } }));
    inputs[1].properties.seats = 'lots';
    const body = await sdkError(() => acct.client.events.send.batchApi.send({ inputs }), 400);
    assert.equal(body.category, 'VALIDATION_ERROR');
    assert.equal(body.errors[0].in, 'inputs[1].properties.seats');
    assert.deepEqual(body.errors[0].context.inputIndex, ['1']);
    assert.deepEqual((await acct.client.events.eventsApi.getPage(undefined, signup)).results, []);
  });

  test('an unknown utk is a 400 naming utk', async () => {
    const acct = await account();
    const signup = (await acct.define('signup')).fullyQualifiedName;
    const body = await sdkError(
      () => acct.client.events.send.basicApi.send({ eventName: signup, utk: `visitor-${unique()}` }),
      400,
    );
    assert.equal(body.category, 'VALIDATION_ERROR');
    assert.deepEqual(body.errors.map((e) => e.in), ['utk']);
  });

  test('a missing scope is a 403 naming the scope', async () => {
    const acct = await account();
    const signup = (await acct.define('signup')).fullyQualifiedName;
    const reader = await server.accountWith(['crm.objects.contacts.read']);
    const body = await sdkError(
      () => reader.client.events.send.basicApi.send({ eventName: signup, objectId: '1' }),
      403,
    );
    assert.equal(body.category, 'MISSING_SCOPES');
    assert.deepEqual(body.errors[0].context.requiredGranularScopes, [SEND_SCOPE]);
    const read = await sdkError(() => reader.client.events.eventsApi.getTypes(), 403);
    assert.equal(read.category, 'MISSING_SCOPES');
  });
});
