// CRM timeline events v3 (api-reference §2) through `@hubspot/api-client` 14:
// `crm.timeline.templatesApi`, `tokensApi` and `eventsApi`. Templates and tokens go through a
// client made with `developerApiKey` (sent as `?hapikey=`), events through an install's access
// token (scope `timeline`). The SDK picks its parser by Content-Type, so `getRenderById` coming
// back as a string proves the render is served as text/html; `createBatch` resolves with the
// 201 or 207 body. The full rule and limit matrix lives in the Rust integration tests.

'use strict';

const assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const { assertMillisTimestamps, raw, sdkError, serverFor, unique } = require('./chronik');

const server = serverFor();

const INSTALL_SCOPES = ['timeline', 'crm.objects.contacts.read'];

// HubSpot's PetSpot example (api-reference §2.3, §2.4).
const PETSPOT_HEADER = 'Registered for [{{petName}}](https://my.petspot.com/pets/{{petName}})';
const PETSPOT_DETAIL =
  'Registration occurred at {{#formatDate timestamp}}{{/formatDate}}\n\n' +
  '#### Questions\n' +
  '{{#each extraData.questions}}\n  **{{question}}**: {{answer}}\n{{/each}}\n\n' +
  'EDIT';
const PET_COLORS = ['black', 'yellow', 'white'];
const PETSPOT_TOKENS = [
  { name: 'petName', label: 'Pet Name', type: 'string' },
  { name: 'petAge', label: 'Pet Age', type: 'number' },
  {
    name: 'petColor',
    label: 'Pet Color',
    type: 'enumeration',
    options: PET_COLORS.map((value) => ({ label: value[0].toUpperCase() + value.slice(1), value })),
  },
];
/** The §2.4 example event's time. */
const ART3MIS_AT = new Date('2020-01-30T17:42:10.276Z');
const ART3MIS_QUESTIONS = [
  { question: "Who's a good girl?", answer: 'Bark!' },
  { question: 'Do you wanna go on a walk?', answer: 'Woof!' },
];

/** The PetSpot header rendered for pet `name`: a paragraph with the link (links get `rel`). */
const headerLink = (name) =>
  `<p>Registered for <a href="https://my.petspot.com/pets/${name}" rel="noopener noreferrer nofollow">${name}</a></p>`;

/** A PetSpot event for `name`, with a fresh email unless given. */
const petEvent = (eventTemplateId, name, fields = {}) => ({
  eventTemplateId,
  email: `${name.toLowerCase()}-${unique()}@petspot.com`,
  tokens: { petName: name, petAge: 3, petColor: 'black' },
  ...fields,
});

// One app, one account that installed it, and the PetSpot template, for the whole file; made
// by the first test that asks (a file-level `before` may run before the server's).
let shared;
function timeline() {
  shared ??= (async () => {
    const app = await server.createApp();
    const { portalId } = await server.createAccount();
    const install = await server.admin(
      'POST',
      `/admin/v1/apps/${app.appId}/installs`,
      { portalId, scopes: INSTALL_SCOPES },
      201,
    );
    const developer = server.client({ developerApiKey: app.developerApiKey });
    const client = server.client({ accessToken: install.accessToken });
    const tl = {
      appId: app.appId,
      portalId,
      developer,
      install: client,
      templates: developer.crm.timeline.templatesApi,
      tokens: developer.crm.timeline.tokensApi,
      events: client.crm.timeline.eventsApi,
    };
    tl.petspot = await tl.templates.create(tl.appId, {
      name: 'PetSpot Registration',
      objectType: 'contacts',
      tokens: PETSPOT_TOKENS,
      headerTemplate: PETSPOT_HEADER,
      detailTemplate: PETSPOT_DETAIL,
    });
    return tl;
  })();
  return shared;
}

describe('templatesApi and tokensApi', () => {
  test('create, add tokens, update a token, archive a token, update, getAll, getById, archive', async () => {
    const tl = await timeline();
    const created = await tl.templates.create(tl.appId, {
      name: 'Webinar Registration',
      objectType: 'companies',
      tokens: [],
    });
    assert.match(created.id, /^\d+$/);
    assert.equal(created.name, 'Webinar Registration');
    assert.equal(created.objectType, 'companies');
    assert.deepEqual(created.tokens, []);
    assert.ok(created.createdAt instanceof Date && created.updatedAt instanceof Date);
    const id = created.id;

    const name = await tl.tokens.create(id, tl.appId, { name: 'webinarName', label: 'Webinar Name', type: 'string' });
    assert.deepEqual([name.name, name.label, name.type, name.options], ['webinarName', 'Webinar Name', 'string', []]);
    assert.ok(name.createdAt instanceof Date);
    const kind = await tl.tokens.create(id, tl.appId, {
      name: 'webinarType',
      label: 'Webinar Type',
      type: 'enumeration',
      options: [{ label: 'Regular', value: 'regular' }],
    });
    assert.deepEqual(kind.options.map((o) => [o.label, o.value]), [['Regular', 'regular']]);
    await tl.tokens.create(id, tl.appId, { name: 'webinarId', label: 'Id', type: 'number' });

    const changed = await tl.tokens.update(id, 'webinarType', tl.appId, {
      label: 'Type',
      options: [{ label: 'Regular', value: 'regular' }, { label: 'Panel', value: 'panel' }],
      objectPropertyName: 'zz_webinar_type',
    });
    assert.deepEqual(
      [changed.name, changed.type, changed.label, changed.objectPropertyName],
      ['webinarType', 'enumeration', 'Type', 'zz_webinar_type'],
    );
    assert.deepEqual(changed.options.map((o) => o.value), ['regular', 'panel']);
    assert.equal(await tl.tokens.archive(id, 'webinarId', tl.appId), undefined);

    const read = await tl.templates.getById(id, tl.appId);
    assert.deepEqual(read.tokens.map((t) => t.name), ['webinarName', 'webinarType']);
    assert.deepEqual(read.tokens[1], changed);

    const updated = await tl.templates.update(id, tl.appId, {
      id,
      name: 'Webinar Registration v2',
      tokens: [{ name: 'webinarName', label: 'Name', type: 'string' }],
      headerTemplate: 'Registered for {{webinarName}}',
      detailTemplate: 'Webinar: *{{webinarName}}*',
    });
    assert.equal(updated.name, 'Webinar Registration v2');
    assert.equal(updated.objectType, 'companies', 'the object type stays');
    assert.equal(updated.headerTemplate, 'Registered for {{webinarName}}');
    assert.equal(updated.detailTemplate, 'Webinar: *{{webinarName}}*');
    assert.deepEqual(updated.tokens.map((t) => [t.name, t.label]), [['webinarName', 'Name']]);
    assert.deepEqual(updated.createdAt, created.createdAt);

    const all = await tl.templates.getAll(tl.appId);
    const listed = all.results.find((t) => t.id === id);
    assert.deepEqual(listed, updated);
    assert.ok(all.results.some((t) => t.id === tl.petspot.id));

    // The wire format of the dates, which the SDK turns into Date objects.
    const wire = await raw(tl.developer, 'GET', `/integrators/timeline/v3/${tl.appId}/event-templates/${id}`);
    assert.equal(wire.status, 200);
    assertMillisTimestamps(wire.body, 'template');

    assert.equal(await tl.templates.archive(id, tl.appId), undefined);
    const gone = await sdkError(() => tl.templates.getById(id, tl.appId), 404);
    assert.equal(gone.category, 'OBJECT_NOT_FOUND');
    assert.ok(!(await tl.templates.getAll(tl.appId)).results.some((t) => t.id === id));
  });
});

describe('eventsApi', () => {
  test('the PetSpot example: create, getById, getRenderById (a string of HTML), getDetailById', async () => {
    const tl = await timeline();
    const petspot = tl.petspot;
    assert.deepEqual(petspot.tokens.map((t) => [t.name, t.type]), [
      ['petName', 'string'],
      ['petAge', 'number'],
      ['petColor', 'enumeration'],
    ]);
    const email = `art3mis-pup-${unique()}@petspot.com`;
    const id = `petspot:${petspot.id}:${email}-004`;
    const timelineIFrame = {
      linkLabel: 'View Art3mis',
      headerLabel: 'Art3mis dog',
      url: 'https://my.petspot.com/pets/Art3mis',
      width: 600,
      height: 400,
    };
    const created = await tl.events.create({
      eventTemplateId: petspot.id,
      id,
      email,
      timestamp: ART3MIS_AT,
      tokens: { petName: 'Art3mis', petAge: 3, petColor: 'black' },
      extraData: { questions: ART3MIS_QUESTIONS },
      timelineIFrame,
    });
    assert.deepEqual([created.id, created.eventTemplateId, created.objectType], [id, petspot.id, 'contacts']);
    assert.equal(created.email, email);
    assert.deepEqual(created.timestamp, ART3MIS_AT);
    assert.deepEqual(created.tokens, { petName: 'Art3mis', petAge: '3', petColor: 'black' }, 'numbers come back as strings');
    assert.deepEqual(created.extraData, { questions: ART3MIS_QUESTIONS });
    assert.deepEqual({ ...created.timelineIFrame }, timelineIFrame);
    assert.match(created.objectId, /^\d+$/);
    const contact = await tl.install.crm.contacts.basicApi.getById(created.objectId, ['email']);
    assert.equal(contact.properties.email, email, 'the email made the contact');

    assert.deepEqual(await tl.events.getById(petspot.id, id), created);

    const header = await tl.events.getRenderById(petspot.id, id);
    assert.equal(typeof header, 'string');
    assert.equal(header, headerLink('Art3mis'));
    assert.equal(await tl.events.getRenderById(petspot.id, id, false), header);
    const detail =
      '<p>Registration occurred at Jan 30, 2020, 5:42:10 PM</p><h4>Questions</h4>' +
      '<p><strong>Who&#x27;s a good girl?</strong>: Bark!</p>' +
      '<p><strong>Do you wanna go on a walk?</strong>: Woof!</p><p>EDIT</p>';
    assert.equal(await tl.events.getRenderById(petspot.id, id, true), detail);
    const details = await tl.events.getDetailById(petspot.id, id);
    assert.equal(details.details, detail);

    const info = await tl.events.getRenderByIdWithHttpInfo(petspot.id, id, true);
    assert.equal(info.httpStatusCode, 200);
    assert.match(info.headers['content-type'], /^text\/html/);
  });

  test('an enumeration value outside the options is a 400 naming the token', async () => {
    const tl = await timeline();
    const body = await sdkError(
      () => tl.events.create(petEvent(tl.petspot.id, 'Kermit', { tokens: { petName: 'K', petColor: 'green' } })),
      400,
    );
    assert.equal(body.category, 'VALIDATION_ERROR');
    assert.match(body.message, /petColor/);
    assert.match(body.message, /green/);
    assert.deepEqual(body.errors.map((e) => e.in), ['tokens.petColor']);
  });

  test('a developer key is refused for event creation with a 403', async () => {
    const tl = await timeline();
    const event = petEvent(tl.petspot.id, 'Rex', { id: `refused-${unique()}` });
    // The SDK sends events with a Bearer token only; apiRequest sends the key as hapikey.
    const refused = await raw(tl.developer, 'POST', '/integrators/timeline/v3/events', event);
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /developer API key/);
    await sdkError(() => tl.events.getById(tl.petspot.id, event.id), 404);
  });

  test('a template edit changes the render of a stored event', async () => {
    const tl = await timeline();
    const tokens = [{ name: 'petName', label: 'Pet Name', type: 'string' }];
    const template = await tl.templates.create(tl.appId, {
      name: 'Vet visit',
      objectType: 'contacts',
      tokens,
      headerTemplate: 'Visited the vet with {{petName}}',
    });
    const event = await tl.events.create(petEvent(template.id, 'Pocket', { tokens: { petName: 'Pocket' } }));
    assert.match(event.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a default id is a UUID');
    assert.equal(await tl.events.getRenderById(template.id, event.id), '<p>Visited the vet with Pocket</p>');
    await tl.templates.update(template.id, tl.appId, {
      id: template.id,
      name: 'Vet visit',
      tokens,
      headerTemplate: '**{{petName}}** saw the vet',
    });
    assert.equal(await tl.events.getRenderById(template.id, event.id), '<p><strong>Pocket</strong> saw the vet</p>');
    assert.deepEqual(await tl.events.getById(template.id, event.id), event, 'the event itself is unchanged');
  });

  test('createBatch resolves with the 201 body; the events read back', async () => {
    const tl = await timeline();
    const inputs = [0, 1, 2].map((i) =>
      petEvent(tl.petspot.id, `Pup${i}`, {
        id: `batch-${unique()}-{{uuid}}`,
        timestamp: new Date(ART3MIS_AT.getTime() + i * 60_000),
        tokens: { petName: `Pup${i}`, petAge: i, petColor: PET_COLORS[i] },
      }),
    );
    const body = await tl.events.createBatch({ inputs });
    assert.equal(body.status, 'COMPLETE');
    assert.equal(body.numErrors, undefined, 'the 201 body, not the 207 one');
    assert.ok(body.startedAt instanceof Date && body.completedAt instanceof Date);
    assert.equal(body.results.length, 3);
    const byName = Object.fromEntries(body.results.map((e) => [e.tokens.petName, e]));
    for (const i of [0, 1, 2]) {
      const event = byName[`Pup${i}`];
      assert.ok(event, `Pup${i} in ${JSON.stringify(body.results)}`);
      assert.ok(event.id.startsWith('batch-') && !event.id.includes('{{uuid}}'), event.id);
      assert.deepEqual(event.tokens, { petName: `Pup${i}`, petAge: String(i), petColor: PET_COLORS[i] });
      assert.equal(event.email, inputs[i].email);
      assert.deepEqual(await tl.events.getById(tl.petspot.id, event.id), event);
      assert.equal(await tl.events.getRenderById(tl.petspot.id, event.id), headerLink(`Pup${i}`));
    }
  });

  test('a batch with one bad input is 207 with results, errors and numErrors', async () => {
    const tl = await timeline();
    const batch = unique();
    const ids = [0, 1, 2].map((i) => `partial-${batch}-${i}`);
    const inputs = ids.map((id, i) => petEvent(tl.petspot.id, `Dog${i}`, { id }));
    inputs[1].tokens = { petName: 'Cat', petColor: 'tabby' };
    const info = await tl.events.createBatchWithHttpInfo({ inputs });
    assert.equal(info.httpStatusCode, 207);
    const body = info.data;
    assert.equal(body.status, 'COMPLETE');
    assert.deepEqual(body.results.map((e) => e.id).sort(), [ids[0], ids[2]]);
    assert.equal(body.numErrors, 1);
    assert.equal(body.errors.length, 1);
    const [error] = body.errors;
    assert.equal(error.status, 'error');
    assert.match(error.message, /petColor/);
    assert.match(error.message, /tabby/);
    assert.match(error.message, /inputs\[1\]/);
    assert.deepEqual(error.context, { ...error.context, inputIndex: ['1'], id: [ids[1]] });

    assert.equal((await tl.events.getById(tl.petspot.id, ids[2])).tokens.petName, 'Dog2');
    await sdkError(() => tl.events.getById(tl.petspot.id, ids[1]), 404);
  });
});
