// CRM records, batches, search, properties and custom object schemas (api-reference §5) through
// `@hubspot/api-client` 14: `crm.{contacts,companies,deals,tickets}.{basicApi,batchApi,searchApi}`,
// `crm.objects.{basicApi,batchApi}`, `crm.properties.coreApi` and `crm.schemas.coreApi`.
//
// The Node SDK treats only the declared status as success (201 for creates, 200 for reads and
// updates, 207 for partial batches) and keeps only the fields its models name, so every value
// asserted below also proves the status and the field names. Errors arrive as `ApiException`
// with the body parsed as the SDK's `Error` model. The full error matrix lives in the Rust
// integration tests (crates/chronik-server/tests/it/crm_*.rs).

'use strict';

const assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const { assertMillisTimestamps, raw, sdkError, serverFor, unique } = require('./chronik');

const server = serverFor();

/** Every scope the CRM routes check. */
const CRM_SCOPES = [
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.objects.companies.read',
  'crm.objects.companies.write',
  'crm.objects.deals.read',
  'crm.objects.deals.write',
  'tickets',
  'crm.objects.custom.read',
  'crm.objects.custom.write',
  'crm.schemas.contacts.read',
  'crm.schemas.contacts.write',
  'crm.schemas.custom.read',
  'crm.schemas.custom.write',
];

const crm = () => server.accountWith(CRM_SCOPES);

/**
 * One standard type: a record to create (with a property not shown by default, `extra`), a
 * change to it, the property that identifies a record, and the type's last-modified property.
 */
function typeCases() {
  const u = unique();
  return [
    {
      name: 'contacts',
      create: { email: `ada-${u}@example.com`, firstname: 'Ada', jobtitle: 'Gardener' },
      extra: 'jobtitle',
      update: { jobtitle: 'Head Gardener', lastname: 'Lovelace' },
      key: 'email',
      modified: 'lastmodifieddate',
    },
    {
      name: 'companies',
      create: { name: `Acme ${u}`, domain: `${u}.example`, industry: 'Tools' },
      extra: 'industry',
      update: { industry: 'Rockets', city: 'Berlin' },
      key: 'domain',
      modified: 'hs_lastmodifieddate',
    },
    {
      name: 'deals',
      create: { dealname: `Deal ${u}`, amount: '1250.50', dealtype: 'newbusiness' },
      extra: 'dealtype',
      update: { dealtype: 'existingbusiness', dealstage: 'closedwon' },
      key: 'dealname',
      modified: 'hs_lastmodifieddate',
    },
    {
      name: 'tickets',
      create: { subject: `Printer ${u}`, hs_pipeline: '0', hs_pipeline_stage: '1', source_type: 'EMAIL' },
      extra: 'source_type',
      update: { source_type: 'PHONE', hs_ticket_priority: 'HIGH' },
      key: 'subject',
      modified: 'hs_lastmodifieddate',
    },
  ];
}

/** A `SimplePublicObject` as the SDK built it: id, system properties, Dates, `expected` values. */
function assertRecord(record, modified, expected) {
  assert.ok(record, 'the SDK returns a body only for the declared status');
  assert.match(record.id, /^\d+$/);
  assert.equal(record.archived, false);
  assert.ok(record.createdAt instanceof Date && !Number.isNaN(record.createdAt.getTime()));
  assert.ok(record.updatedAt >= record.createdAt);
  assert.equal(record.properties.hs_object_id, record.id);
  assert.equal(new Date(record.properties.createdate).getTime(), record.createdAt.getTime());
  assert.equal(new Date(record.properties[modified]).getTime(), record.updatedAt.getTime());
  for (const [name, value] of Object.entries(expected)) {
    assert.equal(record.properties[name], value, `properties.${name}`);
  }
}

describe('basicApi', () => {
  for (const c of typeCases()) {
    test(`${c.name}: create and update answer with the properties written; get, page, archive`, async () => {
      const { client } = await crm();
      const api = client.crm[c.name].basicApi;

      const created = await api.create({ properties: c.create, associations: [] });
      assertRecord(created, c.modified, c.create);
      assert.equal(created.properties[c.extra], c.create[c.extra], 'B1: the value just written');

      const read = await api.getById(created.id, [c.key, c.extra]);
      assert.equal(read.properties[c.key], c.create[c.key]);
      assert.equal(read.properties[c.extra], c.create[c.extra]);
      assert.deepEqual(
        Object.keys(read.properties).sort(),
        [c.key, c.extra, 'hs_object_id', 'createdate', c.modified].sort(),
      );

      const updated = await api.update(created.id, { properties: c.update });
      assertRecord(updated, c.modified, c.update);
      assert.equal(updated.id, created.id);
      assert.equal(updated.createdAt.getTime(), created.createdAt.getTime());

      const second = await api.create({ properties: { [c.key]: `second-${unique()}@example.com` }, associations: [] });
      const page = await api.getPage(1, undefined, [c.key]);
      assert.deepEqual(page.results.map((r) => r.id), [created.id]);
      assert.equal(page.paging.next.after, created.id);
      const rest = await api.getPage(1, page.paging.next.after, [c.key]);
      assert.deepEqual(rest.results.map((r) => r.id), [second.id]);
      assert.equal(rest.paging, undefined);

      assert.equal(await api.archive(created.id), undefined);
      const body = await sdkError(() => api.getById(created.id), 404);
      assert.equal(body.category, 'OBJECT_NOT_FOUND');
      assert.deepEqual(body.context.id, [created.id]);
      const archived = await api.getById(created.id, undefined, undefined, undefined, true);
      assert.equal(archived.archived, true);
      assert.ok(archived.archivedAt instanceof Date);
    });
  }

  test('contacts: get and update by email idProperty, with history', async () => {
    const { client } = await crm();
    const api = client.crm.contacts.basicApi;
    const email = `Grace-${unique()}@Example.com`;
    const created = await api.create({ properties: { email, firstname: 'Grace' }, associations: [] });
    await api.update(created.id, { properties: { firstname: 'Amazing Grace' } });

    const read = await api.getById(email.toLowerCase(), undefined, ['firstname'], undefined, false, 'email');
    assert.equal(read.id, created.id);
    assert.equal(read.properties.email, email);
    const history = read.propertiesWithHistory.firstname;
    assert.deepEqual(history.map((h) => h.value), ['Amazing Grace', 'Grace']);
    assert.ok(history.every((h) => h.sourceType === 'API' && h.timestamp instanceof Date));

    const updated = await api.update(email.toUpperCase(), { properties: { lastname: 'Hopper' } }, 'email');
    assert.equal(updated.id, created.id);
    assert.equal(updated.properties.lastname, 'Hopper');
  });

  test('a duplicate email is a 409 naming the existing id', async () => {
    const { client } = await crm();
    const api = client.crm.contacts.basicApi;
    const email = `dup-${unique()}@example.com`;
    const first = await api.create({ properties: { email }, associations: [] });
    const body = await sdkError(
      () => api.create({ properties: { email: email.toUpperCase() }, associations: [] }),
      409,
    );
    assert.equal(body.category, 'CONFLICT');
    assert.equal(body.message, `Contact already exists. Existing ID: ${first.id}`);
  });

  test('invalid values are a 400 naming each property', async () => {
    const { client } = await crm();
    const body = await sdkError(
      () =>
        client.crm.deals.basicApi.create({
          properties: { amount: 'lots', dealstage: 'won', colour: 'red' },
          associations: [],
        }),
      400,
    );
    assert.equal(body.category, 'VALIDATION_ERROR');
    assert.deepEqual(
      body.errors.map((e) => [e.in, e.code]).sort(),
      [
        ['properties.amount', 'INVALID_PROPERTY_VALUE'],
        ['properties.colour', 'PROPERTY_DOESNT_EXIST'],
        ['properties.dealstage', 'INVALID_OPTION'],
      ],
    );
  });

  test('a missing scope is a 403 naming the scope', async () => {
    const { client } = await server.accountWith(['crm.objects.contacts.read']);
    const body = await sdkError(
      () => client.crm.contacts.basicApi.create({ properties: {}, associations: [] }),
      403,
    );
    assert.equal(body.category, 'MISSING_SCOPES');
    assert.deepEqual(body.errors[0].context.requiredGranularScopes, ['crm.objects.contacts.write']);
    assert.deepEqual((await client.crm.contacts.basicApi.getPage()).results, []);
  });
});

describe('batchApi', () => {
  for (const c of typeCases()) {
    test(`${c.name}: batch create and update answer with the properties written; read; 207`, async () => {
      const { client } = await crm();
      const batch = client.crm[c.name].batchApi;
      const values = [0, 1, 2].map((i) => `${i}-${unique()}@example.com`);

      const created = await batch.create({
        inputs: values.map((v) => ({ properties: { ...c.create, [c.key]: v }, associations: [] })),
      });
      assert.equal(created.status, 'COMPLETE');
      assert.deepEqual(created.results.map((r) => r.properties[c.key]), values);
      const { [c.key]: _key, ...others } = c.create;
      for (const r of created.results) assertRecord(r, c.modified, others);
      assert.ok(created.startedAt <= created.completedAt);
      const ids = created.results.map((r) => r.id);

      const updated = await batch.update({
        inputs: ids.map((id) => ({ id, properties: c.update })),
      });
      assert.equal(updated.status, 'COMPLETE');
      assert.deepEqual(updated.results.map((r) => r.id).sort(), [...ids].sort());
      for (const r of updated.results) assertRecord(r, c.modified, c.update);

      const read = await batch.read({
        inputs: [...ids].reverse().map((id) => ({ id })),
        properties: [c.key],
        propertiesWithHistory: [],
      });
      assert.deepEqual(read.results.map((r) => r.id), [...ids].reverse());

      // Some inputs fail: 207 with the SDK's ...WithErrors model; the others are stored.
      const partial = await batch.create({
        inputs: [
          { properties: { [c.key]: `ok-${unique()}@example.com` }, associations: [] },
          { properties: { no_such_property: 'x' }, associations: [] },
        ],
      });
      assert.equal(partial.numErrors, 1);
      assert.equal(partial.results.length, 1);
      const [error] = partial.errors;
      assert.equal(error.status, 'error');
      assert.equal(error.category, 'VALIDATION_ERROR');
      assert.deepEqual(error.context, { inputIndex: ['1'] });
      assert.deepEqual(error.links, {}, 'B2: StandardError.links is always there');
      assert.equal(error.errors[0]._in, 'inputs[1].properties.no_such_property');

      const missing = await batch.read({
        inputs: [{ id: ids[0] }, { id: '999999999' }],
        properties: [],
        propertiesWithHistory: [],
      });
      assert.deepEqual(missing.results.map((r) => r.id), [ids[0]]);
      assert.equal(missing.numErrors, 1);
      assert.equal(missing.errors[0].category, 'OBJECT_NOT_FOUND');
      assert.deepEqual(missing.errors[0].links, {});
      assert.deepEqual(missing.errors[0].errors, []);
      assert.deepEqual(missing.errors[0].context.id, ['999999999']);

      const notFound = await batch.update({
        inputs: [{ id: ids[0], properties: {} }, { id: '999999999', properties: {} }],
      });
      assert.equal(notFound.numErrors, 1);
      assert.deepEqual(Object.keys(notFound.errors[0]).sort(), [
        'category', 'context', 'errors', 'links', 'message', 'status',
      ]);

      assert.equal(await batch.archive({ inputs: ids.map((id) => ({ id })) }), undefined);
      await sdkError(() => client.crm[c.name].basicApi.getById(ids[0]), 404);
    });
  }
});

describe('searchApi', () => {
  for (const c of typeCases()) {
    test(`${c.name}: doSearch by filters, query, sorts and paging`, async () => {
      const { client } = await crm();
      const api = client.crm[c.name];
      const u = unique();
      const values = [0, 1, 2].map((i) => `${u}-${i}@example.com`);
      const ids = [];
      for (const v of values) {
        ids.push((await api.basicApi.create({ properties: { [c.key]: v }, associations: [] })).id);
      }

      const found = await api.searchApi.doSearch({
        filterGroups: [
          { filters: [{ propertyName: c.key, operator: 'EQ', value: values[1].toUpperCase() }] },
          { filters: [{ propertyName: 'hs_object_id', operator: 'IN', values: [ids[2]] }] },
        ],
        properties: [c.key],
        sorts: [`-${c.key}`],
        limit: 10,
      });
      assert.equal(found.total, 2);
      assert.deepEqual(found.results.map((r) => r.id), [ids[2], ids[1]]);
      assert.equal(found.results[0].properties[c.key], values[2]);
      assert.equal(found.paging, undefined);

      const first = await api.searchApi.doSearch({ query: u, limit: 2, sorts: ['hs_object_id'] });
      assert.equal(first.total, 3);
      assert.deepEqual(first.results.map((r) => r.id), ids.slice(0, 2));
      const rest = await api.searchApi.doSearch({
        query: u, limit: 2, after: first.paging.next.after, sorts: ['hs_object_id'],
      });
      assert.deepEqual(rest.results.map((r) => r.id), ids.slice(2));

      const body = await sdkError(() => api.searchApi.doSearch({ limit: 201 }), 400);
      assert.equal(body.errors[0].in, 'limit');
      assert.match(body.errors[0].message, /200/);
    });
  }
});

/** The "cars" custom object: vin (unique, required), model (title), year. */
function carEgg(name) {
  return {
    name,
    labels: { singular: 'Car', plural: 'Cars' },
    description: 'Cars we sold',
    primaryDisplayProperty: 'model',
    secondaryDisplayProperties: ['vin'],
    requiredProperties: ['vin'],
    searchableProperties: ['model', 'vin'],
    associatedObjects: ['CONTACT'],
    properties: [
      { name: 'vin', label: 'VIN', type: 'string', fieldType: 'text', hasUniqueValue: true },
      { name: 'model', label: 'Model', type: 'string', fieldType: 'text' },
      { name: 'year', label: 'Year', type: 'number', fieldType: 'number' },
    ],
  };
}

describe('schemas and custom objects', () => {
  test('schemas.coreApi create, getAll, getById, then objects.basicApi and batchApi', async () => {
    const { client, portalId } = await crm();
    const schemas = client.crm.schemas.coreApi;
    assert.deepEqual((await schemas.getAll()).results, []);

    const created = await schemas.create(carEgg('cars'));
    assert.equal(created.objectTypeId, `2-${created.id}`);
    assert.equal(created.fullyQualifiedName, `p${portalId}_cars`);
    assert.deepEqual([created.labels.singular, created.labels.plural], ['Car', 'Cars']);
    assert.deepEqual(created.requiredProperties, ['vin']);
    assert.equal(created.primaryDisplayProperty, 'model');
    assert.ok(created.createdAt instanceof Date);
    const names = created.properties.map((p) => p.name);
    for (const n of ['vin', 'model', 'year', 'hs_object_id', 'hs_createdate', 'hs_lastmodifieddate']) {
      assert.ok(names.includes(n), n);
    }
    assert.deepEqual(
      created.associations.map((a) => [a.fromObjectTypeId, a.toObjectTypeId]),
      [[created.objectTypeId, '0-1']],
    );
    assert.deepEqual((await schemas.getAll()).results.map((s) => s.objectTypeId), [created.objectTypeId]);
    for (const key of [created.objectTypeId, created.fullyQualifiedName]) {
      assert.equal((await schemas.getById(key)).labels.plural, 'Cars');
    }

    const objects = client.crm.objects.basicApi;
    const car = await objects.create(created.objectTypeId, {
      properties: { vin: 'WVW123', model: 'Golf', year: '2019' },
      associations: [],
    });
    assert.equal(car.properties.vin, 'WVW123');
    assert.equal(car.properties.year, '2019', 'B1: a property not shown by default, just written');
    assert.equal(car.properties.hs_object_id, car.id);
    const read = await objects.getById(created.fullyQualifiedName, car.id, ['year']);
    assert.equal(read.properties.year, '2019');
    assert.equal((await objects.getById(created.objectTypeId, 'wvw123', undefined, undefined, undefined, false, 'vin')).id, car.id);
    const updated = await objects.update(created.objectTypeId, car.id, { properties: { year: '2020' } });
    assert.equal(updated.properties.year, '2020');
    assert.equal(updated.properties.model, 'Golf');

    const batch = await client.crm.objects.batchApi.create(created.objectTypeId, {
      inputs: [
        { properties: { vin: 'B1', year: '2001' }, associations: [] },
        { properties: { model: 'no vin' }, associations: [] },
      ],
    });
    assert.equal(batch.numErrors, 1);
    assert.equal(batch.results[0].properties.year, '2001');
    assert.deepEqual(batch.errors[0].links, {});
    assert.equal(batch.errors[0].errors[0]._in, 'inputs[1].properties.vin');
    assert.equal(batch.errors[0].errors[0].code, 'MISSING_REQUIRED_PROPERTY');

    const body = await sdkError(
      () => objects.create(created.objectTypeId, { properties: { model: 'Polo' }, associations: [] }),
      400,
    );
    assert.equal(body.errors[0].in, 'properties.vin');
  });

  test('a taken schema name is a 409', async () => {
    const { client } = await crm();
    await client.crm.schemas.coreApi.create(carEgg('trucks'));
    const body = await sdkError(() => client.crm.schemas.coreApi.create(carEgg('Trucks')), 409);
    assert.equal(body.category, 'CONFLICT');
  });
});

describe('properties', () => {
  test('coreApi create and getByName, then records take the property', async () => {
    const { client } = await crm();
    const props = client.crm.properties.coreApi;
    const created = await props.create('contacts', {
      name: 'favorite_color',
      label: 'Favorite color',
      type: 'enumeration',
      fieldType: 'select',
      groupName: 'contactinformation',
      options: [
        { label: 'Red', value: 'red', displayOrder: 0, hidden: false },
        { label: 'Blue', value: 'blue', displayOrder: 1, hidden: false },
      ],
    });
    assert.equal(created.name, 'favorite_color');
    assert.equal(created.type, 'enumeration');
    assert.equal(created.fieldType, 'select');
    assert.deepEqual(created.options.map((o) => [o.label, o.value]), [['Red', 'red'], ['Blue', 'blue']]);
    assert.equal(created.hubspotDefined, false);
    assert.equal(created.modificationMetadata.archivable, true);
    assert.ok(created.createdAt instanceof Date);
    assert.equal((await props.getByName('contacts', 'favorite_color')).label, 'Favorite color');
    const all = await props.getAll('contacts');
    assert.ok(all.results.some((p) => p.name === 'favorite_color'));

    const contact = await client.crm.contacts.basicApi.create({
      properties: { email: `c-${unique()}@example.com`, favorite_color: 'blue' },
      associations: [],
    });
    assert.equal(contact.properties.favorite_color, 'blue', 'B1: a custom property just written');
    const body = await sdkError(
      () => client.crm.contacts.basicApi.create({ properties: { favorite_color: 'green' }, associations: [] }),
      400,
    );
    assert.equal(body.errors[0].code, 'INVALID_OPTION');
  });
});

describe('timestamps on the wire', () => {
  test('every timestamp the CRM endpoints write has exactly three fraction digits', async () => {
    const { client } = await crm();
    const created = await raw(client, 'POST', '/crm/v3/objects/contacts', {
      properties: { email: `t-${unique()}@example.com`, jobtitle: 'A' },
    });
    assert.equal(created.status, 201);
    assertMillisTimestamps(created.body, 'create');
    const id = created.body.id;
    const updated = await raw(client, 'PATCH', `/crm/v3/objects/contacts/${id}`, { properties: { jobtitle: 'B' } });
    assertMillisTimestamps(updated.body, 'update');
    const history = await raw(client, 'GET', `/crm/v3/objects/contacts/${id}?propertiesWithHistory=jobtitle`);
    assert.equal(assertMillisTimestamps(history.body.propertiesWithHistory, 'history'), 2);
    const batch = await raw(client, 'POST', '/crm/v3/objects/contacts/batch/create', {
      inputs: [{ properties: { email: `u-${unique()}@example.com` } }, { properties: { nope: 'x' } }],
    });
    assert.equal(batch.status, 207);
    assertMillisTimestamps(batch.body, 'batch');
    assertMillisTimestamps((await raw(client, 'POST', '/crm/v3/objects/contacts/search', {})).body, 'search');
    const property = await raw(client, 'POST', '/crm/v3/properties/contacts', {
      name: 'shoe_size', label: 'Shoe size', type: 'number', fieldType: 'number', groupName: 'g',
    });
    assert.equal(property.status, 201);
    assertMillisTimestamps(property.body, 'property');
    const schema = await raw(client, 'POST', '/crm-object-schemas/v3/schemas', carEgg('bikes'));
    assert.equal(schema.status, 201);
    assertMillisTimestamps(schema.body, 'schema');
    await client.crm.contacts.basicApi.archive(id);
    const archived = await raw(client, 'GET', `/crm/v3/objects/contacts/${id}?archived=true`);
    assert.equal(typeof archived.body.archivedAt, 'string');
    assertMillisTimestamps(archived.body, 'archived');

    const account = await server.createAccount();
    assertMillisTimestamps(account, 'admin account');
  });
});
