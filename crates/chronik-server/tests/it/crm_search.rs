//! `POST /crm/v3/objects/{objectType}/search` (api-reference §5.2): every operator, filter
//! groups (OR of ANDs), the free-text query, sorts, properties, paging with `total`, and each
//! of HubSpot's limits at the limit and one past it.

use serde_json::{json, Value};

use crate::crm_helpers::{assert_invalid, result_ids, result_values, Crm};
use crate::helpers::{keys, TestApp};

/// Five deals with different values; returns the client and the ids by deal name.
async fn deals(app: &TestApp) -> (Crm<'_>, Vec<(&'static str, String)>) {
    let crm = Crm::new(app).await;
    let rows = [
        (
            "Alpha deal",
            json!({ "amount": "100", "closedate": "2024-01-10T00:00:00Z", "dealstage": "appointmentscheduled", "description": "red apple, green pear" }),
        ),
        (
            "Beta deal",
            json!({ "amount": "250.5", "closedate": "2024-02-15T12:00:00Z", "dealstage": "closedwon", "description": "blue sky" }),
        ),
        (
            "Gamma",
            json!({ "amount": "1000", "closedate": "2024-03-01", "dealstage": "closedlost", "description": "" }),
        ),
        ("delta", json!({ "dealstage": "closedwon" })),
        (
            "Epsilon deal",
            json!({ "amount": "-5", "closedate": "2023-12-31T23:59:59Z", "dealstage": "contractsent", "description": "Apple" }),
        ),
    ];
    let mut ids = Vec::new();
    for (name, mut props) in rows {
        props["dealname"] = json!(name);
        ids.push((name, crm.create_id("deals", props).await));
    }
    (crm, ids)
}

/// The deal names of a search response, in result order.
fn names(body: &Value) -> Vec<String> {
    result_values(body, "dealname")
        .into_iter()
        .map(|v| v.unwrap_or_default())
        .collect()
}

fn one_filter(filter: Value) -> Value {
    json!({ "filterGroups": [{ "filters": [filter] }], "properties": ["dealname"], "limit": 100 })
}

#[tokio::test]
async fn each_operator_selects_the_matching_records() {
    let app = TestApp::spawn().await;
    let (crm, ids) = deals(&app).await;

    // (what is tested, the filter, the deal names that match, in id order)
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "EQ on a string ignores case",
            json!({ "propertyName": "dealname", "operator": "EQ", "value": "ALPHA DEAL" }),
            vec!["Alpha deal"],
        ),
        (
            "EQ on a number compares numerically",
            json!({ "propertyName": "amount", "operator": "EQ", "value": "250.50" }),
            vec!["Beta deal"],
        ),
        (
            "EQ takes a JSON number",
            json!({ "propertyName": "amount", "operator": "EQ", "value": 1000 }),
            vec!["Gamma"],
        ),
        (
            "EQ on an enumeration is exact",
            json!({ "propertyName": "dealstage", "operator": "EQ", "value": "CLOSEDWON" }),
            vec![],
        ),
        (
            "NEQ",
            json!({ "propertyName": "dealstage", "operator": "NEQ", "value": "closedwon" }),
            vec!["Alpha deal", "Gamma", "Epsilon deal"],
        ),
        (
            "LT on a number",
            json!({ "propertyName": "amount", "operator": "LT", "value": "100" }),
            vec!["Epsilon deal"],
        ),
        (
            "LTE on a number",
            json!({ "propertyName": "amount", "operator": "LTE", "value": "100" }),
            vec!["Alpha deal", "Epsilon deal"],
        ),
        (
            "GT on a number",
            json!({ "propertyName": "amount", "operator": "GT", "value": "250.5" }),
            vec!["Gamma"],
        ),
        (
            "GTE on a number",
            json!({ "propertyName": "amount", "operator": "GTE", "value": "250.5" }),
            vec!["Beta deal", "Gamma"],
        ),
        (
            "GT on a datetime",
            json!({ "propertyName": "closedate", "operator": "GT", "value": "2024-02-01T00:00:00Z" }),
            vec!["Beta deal", "Gamma"],
        ),
        (
            "LT on a datetime in epoch milliseconds",
            json!({ "propertyName": "closedate", "operator": "LT", "value": "1704067200000" }),
            vec!["Epsilon deal"],
        ),
        (
            "BETWEEN on a number includes both ends",
            json!({ "propertyName": "amount", "operator": "BETWEEN", "value": "100", "highValue": "250.5" }),
            vec!["Alpha deal", "Beta deal"],
        ),
        (
            "BETWEEN on a datetime includes both ends",
            json!({ "propertyName": "closedate", "operator": "BETWEEN", "value": "2024-01-10T00:00:00Z", "highValue": "2024-02-15T12:00:00Z" }),
            vec!["Alpha deal", "Beta deal"],
        ),
        (
            "IN on an enumeration",
            json!({ "propertyName": "dealstage", "operator": "IN", "values": ["closedwon", "closedlost"] }),
            vec!["Beta deal", "Gamma", "delta"],
        ),
        (
            "IN on a string",
            json!({ "propertyName": "dealname", "operator": "IN", "values": ["gamma", "delta"] }),
            vec!["Gamma", "delta"],
        ),
        (
            "NOT_IN",
            json!({ "propertyName": "dealstage", "operator": "NOT_IN", "values": ["closedwon", "closedlost"] }),
            vec!["Alpha deal", "Epsilon deal"],
        ),
        (
            "HAS_PROPERTY",
            json!({ "propertyName": "amount", "operator": "HAS_PROPERTY" }),
            vec!["Alpha deal", "Beta deal", "Gamma", "Epsilon deal"],
        ),
        (
            "NOT_HAS_PROPERTY (a cleared value is no value)",
            json!({ "propertyName": "description", "operator": "NOT_HAS_PROPERTY" }),
            vec!["Gamma", "delta"],
        ),
        (
            "CONTAINS_TOKEN matches a whole word in any case",
            json!({ "propertyName": "description", "operator": "CONTAINS_TOKEN", "value": "APPLE" }),
            vec!["Alpha deal", "Epsilon deal"],
        ),
        (
            "CONTAINS_TOKEN does not match part of a word",
            json!({ "propertyName": "description", "operator": "CONTAINS_TOKEN", "value": "app" }),
            vec![],
        ),
        (
            "CONTAINS_TOKEN with a trailing wildcard",
            json!({ "propertyName": "description", "operator": "CONTAINS_TOKEN", "value": "pe*" }),
            vec!["Alpha deal"],
        ),
        (
            "CONTAINS_TOKEN with a leading wildcard",
            json!({ "propertyName": "description", "operator": "CONTAINS_TOKEN", "value": "*ky" }),
            vec!["Beta deal"],
        ),
        (
            "NOT_CONTAINS_TOKEN",
            json!({ "propertyName": "description", "operator": "NOT_CONTAINS_TOKEN", "value": "apple" }),
            vec!["Beta deal", "Gamma", "delta"],
        ),
        (
            "operators in lower case",
            json!({ "propertyName": "amount", "operator": "gt", "value": "999" }),
            vec!["Gamma"],
        ),
        (
            "hs_object_id is a number property",
            json!({ "propertyName": "hs_object_id", "operator": "LTE", "value": ids[1].1 }),
            vec!["Alpha deal", "Beta deal"],
        ),
    ];
    for (description, filter, expected) in cases {
        let response = crm.search("deals", &one_filter(filter)).await;
        response.assert_status(200).assert_json_content_type();
        assert_eq!(names(&response.body), expected, "{description}");
        assert_eq!(
            response.int("total") as usize,
            expected.len(),
            "{description}"
        );
    }
}

#[tokio::test]
async fn filter_groups_are_ored_and_filters_in_a_group_anded() {
    let app = TestApp::spawn().await;
    let (crm, _) = deals(&app).await;
    let response = crm
        .search(
            "deals",
            &json!({
                "filterGroups": [
                    { "filters": [
                        { "propertyName": "dealstage", "operator": "EQ", "value": "closedwon" },
                        { "propertyName": "amount", "operator": "GT", "value": "0" },
                    ]},
                    { "filters": [
                        { "propertyName": "dealname", "operator": "EQ", "value": "gamma" },
                    ]},
                ],
                "properties": ["dealname"],
            }),
        )
        .await;
    response.assert_status(200);
    // delta is closedwon but has no amount: its group fails.
    assert_eq!(names(&response.body), ["Beta deal", "Gamma"]);
    assert_eq!(response.int("total"), 2);

    // No filters at all: every record.
    let all = crm.search("deals", &json!({})).await;
    assert_eq!(all.int("total"), 5);
    assert_eq!(
        keys(&all.body),
        ["results", "total"],
        "no paging on the only page"
    );
}

#[tokio::test]
async fn query_looks_for_text_in_the_types_searchable_properties() {
    let app = TestApp::spawn().await;
    let (crm, _) = deals(&app).await;
    let response = crm
        .search(
            "deals",
            &json!({ "query": "DEAL", "properties": ["dealname"] }),
        )
        .await;
    assert_eq!(
        names(&response.body),
        ["Alpha deal", "Beta deal", "Epsilon deal"]
    );
    // description is not searchable for deals.
    let response = crm.search("deals", &json!({ "query": "apple" })).await;
    assert_eq!(response.int("total"), 0);
    // Combined with filters, both must hold.
    let response = crm
        .search(
            "deals",
            &json!({
                "query": "deal",
                "filterGroups": [{ "filters": [{ "propertyName": "amount", "operator": "LT", "value": "200" }] }],
                "properties": ["dealname"],
            }),
        )
        .await;
    assert_eq!(names(&response.body), ["Alpha deal", "Epsilon deal"]);

    // Contacts search their name, email and more.
    let contacts = Crm::new(&app).await;
    let ada = contacts
        .create_id(
            "contacts",
            json!({ "email": "ada@analytical.example", "firstname": "Ada" }),
        )
        .await;
    contacts
        .create(
            "contacts",
            json!({ "email": "bob@example.com", "lastname": "Builder" }),
        )
        .await
        .assert_status(201);
    for q in ["ada", "ANALYTICAL"] {
        let found = contacts.search("contacts", &json!({ "query": q })).await;
        assert_eq!(result_ids(&found.body), [ada.as_str()], "{q}");
    }
}

#[tokio::test]
async fn sorts_order_by_one_property_either_way_with_unset_values_last() {
    let app = TestApp::spawn().await;
    let (crm, _) = deals(&app).await;
    // (sorts, expected order)
    let cases = [
        (
            json!(["amount"]),
            vec!["Epsilon deal", "Alpha deal", "Beta deal", "Gamma", "delta"],
        ),
        (
            json!(["-amount"]),
            vec!["Gamma", "Beta deal", "Alpha deal", "Epsilon deal", "delta"],
        ),
        (
            json!([{ "propertyName": "amount", "direction": "DESCENDING" }]),
            vec!["Gamma", "Beta deal", "Alpha deal", "Epsilon deal", "delta"],
        ),
        (
            json!([{ "propertyName": "dealname", "direction": "ASCENDING" }]),
            vec!["Alpha deal", "Beta deal", "delta", "Epsilon deal", "Gamma"],
        ),
        (
            json!([{ "propertyName": "closedate", "direction": "DESCENDING" }]),
            vec!["Gamma", "Beta deal", "Alpha deal", "Epsilon deal", "delta"],
        ),
        (
            json!([]),
            vec!["Alpha deal", "Beta deal", "Gamma", "delta", "Epsilon deal"],
        ),
    ];
    for (sorts, expected) in cases {
        let response = crm
            .search(
                "deals",
                &json!({ "sorts": sorts, "properties": ["dealname"] }),
            )
            .await;
        response.assert_status(200);
        assert_eq!(names(&response.body), expected, "{sorts}");
    }
}

#[tokio::test]
async fn properties_pick_what_each_result_shows() {
    let app = TestApp::spawn().await;
    let (crm, ids) = deals(&app).await;
    let response = crm
        .search(
            "deals",
            &json!({
                "filterGroups": [{ "filters": [{ "propertyName": "dealname", "operator": "EQ", "value": "gamma" }] }],
                "properties": ["amount", "description", "nope"],
            }),
        )
        .await;
    let record = &response.body["results"][0];
    assert_eq!(record["id"], ids[2].1.as_str());
    assert_eq!(
        keys(&record["properties"]),
        [
            "amount",
            "createdate",
            "description",
            "hs_lastmodifieddate",
            "hs_object_id"
        ]
    );
    assert_eq!(record["properties"]["amount"], "1000");
    assert_eq!(record["properties"]["description"], Value::Null);

    // Without properties, the type's defaults.
    let response = crm.search("deals", &json!({ "limit": 1 })).await;
    assert_eq!(
        keys(&response.body["results"][0]["properties"]),
        [
            "amount",
            "closedate",
            "createdate",
            "dealname",
            "dealstage",
            "hs_lastmodifieddate",
            "hs_object_id",
            "pipeline"
        ]
    );
}

#[tokio::test]
async fn paging_walks_the_sorted_matches_with_total_on_every_page() {
    let app = TestApp::spawn().await;
    let (crm, _) = deals(&app).await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut afters = Vec::new();
    loop {
        let mut body = json!({ "limit": 2, "sorts": ["amount"], "properties": ["dealname"] });
        if let Some(a) = &after {
            body["after"] = json!(a);
        }
        let page = crm.search("deals", &body).await;
        page.assert_status(200);
        assert_eq!(page.int("total"), 5);
        seen.extend(names(&page.body));
        match page.body["paging"]["next"]["after"].as_str() {
            Some(next) => {
                afters.push(next.to_owned());
                after = Some(next.to_owned());
            }
            None => {
                assert!(page.body.get("paging").is_none(), "{}", page.text);
                break;
            }
        }
    }
    assert_eq!(afters, ["2", "4"]);
    assert_eq!(
        seen,
        ["Epsilon deal", "Alpha deal", "Beta deal", "Gamma", "delta"]
    );

    // A page past the end is empty but still counts.
    let past = crm.search("deals", &json!({ "after": "5" })).await;
    past.assert_status(200);
    assert_eq!(past.int("total"), 5);
    assert!(result_ids(&past.body).is_empty());
}

#[tokio::test]
async fn archived_records_are_not_found_by_search() {
    let app = TestApp::spawn().await;
    let (crm, ids) = deals(&app).await;
    crm.archive("deals", &ids[0].1).await.assert_status(204);
    let response = crm
        .search(
            "deals",
            &json!({ "query": "deal", "properties": ["dealname"] }),
        )
        .await;
    assert_eq!(names(&response.body), ["Beta deal", "Epsilon deal"]);
    let by_id = crm
        .search(
            "deals",
            &json!({ "filterGroups": [{ "filters": [
                { "propertyName": "hs_object_id", "operator": "EQ", "value": ids[0].1 }
            ]}]}),
        )
        .await;
    assert_eq!(by_id.int("total"), 0);
}

#[tokio::test]
async fn lookups_by_id_and_email_combine_with_other_filters() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let a = crm
        .create_id(
            "contacts",
            json!({ "email": "a@example.com", "firstname": "Ann" }),
        )
        .await;
    let b = crm
        .create_id(
            "contacts",
            json!({ "email": "B@example.com", "firstname": "Bob" }),
        )
        .await;
    let c = crm
        .create_id(
            "contacts",
            json!({ "email": "c@example.com", "firstname": "Cy" }),
        )
        .await;

    // (filter groups, expected ids)
    let cases = [
        (
            json!([{ "filters": [{ "propertyName": "email", "operator": "EQ", "value": "b@EXAMPLE.com" }] }]),
            vec![b.clone()],
        ),
        (
            json!([{ "filters": [{ "propertyName": "hs_object_id", "operator": "IN", "values": [c.clone(), a.clone(), "999999"] }] }]),
            vec![a.clone(), c.clone()],
        ),
        (
            json!([{ "filters": [
                { "propertyName": "email", "operator": "IN", "values": ["a@example.com", "b@example.com"] },
                { "propertyName": "firstname", "operator": "EQ", "value": "bob" },
            ] }]),
            vec![b.clone()],
        ),
        (
            json!([
                { "filters": [{ "propertyName": "email", "operator": "EQ", "value": "a@example.com" }] },
                { "filters": [{ "propertyName": "firstname", "operator": "EQ", "value": "cy" }] },
            ]),
            vec![a.clone(), c.clone()],
        ),
        (
            json!([{ "filters": [{ "propertyName": "email", "operator": "NEQ", "value": "a@example.com" }] }]),
            vec![b.clone(), c.clone()],
        ),
    ];
    for (groups, expected) in cases {
        let response = crm
            .search("contacts", &json!({ "filterGroups": groups }))
            .await;
        response.assert_status(200);
        assert_eq!(result_ids(&response.body), expected, "{groups}");
    }
}

#[tokio::test]
async fn custom_objects_and_tickets_are_searched_by_their_own_properties() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    crm.new_car_schema().await;
    let fqn = format!("p{}_cars", crm.portal_id);
    let golf = crm
        .create_id(&fqn, json!({ "vin": "V1", "model": "Golf", "year": 2019 }))
        .await;
    crm.create(&fqn, json!({ "vin": "V2", "model": "Polo", "year": 2021 }))
        .await
        .assert_status(201);
    let response = crm
        .search(
            &fqn,
            &json!({
                "query": "gol",
                "filterGroups": [{ "filters": [{ "propertyName": "year", "operator": "LT", "value": "2020" }] }],
                "properties": ["year"],
            }),
        )
        .await;
    response.assert_status(200);
    assert_eq!(result_ids(&response.body), [golf]);
    assert_eq!(response.body["results"][0]["properties"]["year"], "2019");
    let by_vin = crm
        .search(&fqn, &json!({ "filterGroups": [{ "filters": [{ "propertyName": "vin", "operator": "EQ", "value": "v2" }] }], "properties": ["model"] }))
        .await;
    assert_eq!(result_values(&by_vin.body, "model"), [Some("Polo".into())]);

    let ticket = crm
        .create_id(
            "tickets",
            json!({ "subject": "Printer on fire", "hs_ticket_priority": "HIGH" }),
        )
        .await;
    crm.create(
        "tickets",
        json!({ "subject": "Paper jam", "hs_ticket_priority": "LOW" }),
    )
    .await
    .assert_status(201);
    let response = crm
        .search(
            "tickets",
            &json!({ "filterGroups": [{ "filters": [{ "propertyName": "hs_ticket_priority", "operator": "EQ", "value": "HIGH" }] }] }),
        )
        .await;
    assert_eq!(result_ids(&response.body), [ticket]);
}

/// `n` filter groups of `per_group` filters each (all true for every deal).
fn groups(n: usize, per_group: usize) -> Value {
    let group = json!({ "filters": vec![json!({ "propertyName": "dealname", "operator": "HAS_PROPERTY" }); per_group] });
    json!(vec![group; n])
}

#[tokio::test]
async fn five_filter_groups_are_accepted_and_six_refused_naming_the_limit() {
    let app = TestApp::spawn().await;
    let (crm, _) = deals(&app).await;
    let at = crm
        .search("deals", &json!({ "filterGroups": groups(5, 1) }))
        .await;
    at.assert_status(200);
    assert_eq!(at.int("total"), 5);
    let past = crm
        .search("deals", &json!({ "filterGroups": groups(6, 1) }))
        .await;
    assert_invalid(&past, "filterGroups", "TOO_MANY_FILTER_GROUPS", &["6", "5"]);
}

#[tokio::test]
async fn six_filters_in_a_group_are_accepted_and_seven_refused_naming_the_limit() {
    let app = TestApp::spawn().await;
    let (crm, _) = deals(&app).await;
    let at = crm
        .search("deals", &json!({ "filterGroups": groups(1, 6) }))
        .await;
    at.assert_status(200);
    assert_eq!(at.int("total"), 5);
    let past = crm
        .search("deals", &json!({ "filterGroups": groups(1, 7) }))
        .await;
    assert_invalid(
        &past,
        "filterGroups[0].filters",
        "TOO_MANY_FILTERS_IN_GROUP",
        &["7", "6"],
    );
}

#[tokio::test]
async fn eighteen_filters_in_all_are_accepted_and_nineteen_refused_naming_the_limit() {
    let app = TestApp::spawn().await;
    let (crm, _) = deals(&app).await;
    let at = crm
        .search("deals", &json!({ "filterGroups": groups(3, 6) }))
        .await;
    at.assert_status(200);
    assert_eq!(at.int("total"), 5);
    // Three full groups and one more filter: each group and the group count are within
    // their limits, the total is not.
    let mut past = groups(3, 6);
    past.as_array_mut()
        .unwrap()
        .push(json!({ "filters": [{ "propertyName": "dealname", "operator": "HAS_PROPERTY" }] }));
    let past = crm.search("deals", &json!({ "filterGroups": past })).await;
    assert_invalid(&past, "filterGroups", "TOO_MANY_FILTERS", &["19", "18"]);
    assert_eq!(past.errors().len(), 1, "{}", past.text);
}

#[tokio::test]
async fn limit_of_200_is_accepted_and_201_or_0_refused_naming_the_limit() {
    let app = TestApp::spawn().await;
    let crm = Crm::new(&app).await;
    let batch = |from: usize| json!({ "inputs": (from..from + 100).map(|i| json!({ "properties": { "name": format!("C{i:03}") } })).collect::<Vec<_>>() });
    for from in [0, 100, 200] {
        crm.batch("companies", "create", &batch(from))
            .await
            .assert_status(201);
    }
    let at = crm.search("companies", &json!({ "limit": 200 })).await;
    at.assert_status(200);
    assert_eq!(result_ids(&at.body).len(), 200);
    assert_eq!(at.int("total"), 300);
    assert_eq!(at.body["paging"]["next"]["after"], "200");
    let rest = crm
        .search("companies", &json!({ "limit": 200, "after": "200" }))
        .await;
    assert_eq!(result_ids(&rest.body).len(), 100);
    assert!(rest.body.get("paging").is_none());

    for limit in [201, 0, -1] {
        let past = crm.search("companies", &json!({ "limit": limit })).await;
        assert_invalid(
            &past,
            "limit",
            "INVALID_LIMIT",
            &[&limit.to_string(), "200"],
        );
    }
}

#[tokio::test]
async fn paging_may_reach_result_10000_but_not_past_it() {
    let app = TestApp::spawn().await;
    let (crm, _) = deals(&app).await;
    // (after, limit, accepted)
    for (after, limit, accepted) in [
        ("9800", 200, true),
        ("9999", 1, true),
        ("9801", 200, false),
        ("10000", 1, false),
    ] {
        let response = crm
            .search("deals", &json!({ "after": after, "limit": limit }))
            .await;
        if accepted {
            response.assert_status(200);
            assert_eq!(response.int("total"), 5);
            assert!(result_ids(&response.body).is_empty());
        } else {
            assert_invalid(&response, "after", "PAGING_LIMIT", &[after, "10000"]);
        }
    }
    let bad = crm.search("deals", &json!({ "after": "page2" })).await;
    assert_invalid(&bad, "after", "INVALID_AFTER", &["page2"]);
}

#[tokio::test]
async fn malformed_filters_and_sorts_are_each_named() {
    let app = TestApp::spawn().await;
    let (crm, _) = deals(&app).await;
    let f = "filterGroups[0].filters[0]";
    // (filter, field, code, mentioned)
    let cases = [
        (
            json!({ "propertyName": "colour", "operator": "EQ", "value": "x" }),
            format!("{f}.propertyName"),
            "PROPERTY_DOESNT_EXIST",
            "colour",
        ),
        (
            json!({ "operator": "EQ", "value": "x" }),
            format!("{f}.propertyName"),
            "REQUIRED",
            "propertyName",
        ),
        (
            json!({ "propertyName": "amount", "value": "1" }),
            format!("{f}.operator"),
            "REQUIRED",
            "operator",
        ),
        (
            json!({ "propertyName": "amount", "operator": "LIKE", "value": "1" }),
            format!("{f}.operator"),
            "INVALID_OPERATOR",
            "LIKE",
        ),
        (
            json!({ "propertyName": "amount", "operator": "EQ" }),
            format!("{f}.value"),
            "REQUIRED",
            "EQ",
        ),
        (
            json!({ "propertyName": "amount", "operator": "EQ", "value": "ten" }),
            format!("{f}.value"),
            "INVALID_FILTER_VALUE",
            "ten",
        ),
        (
            json!({ "propertyName": "closedate", "operator": "GT", "value": "tomorrow" }),
            format!("{f}.value"),
            "INVALID_FILTER_VALUE",
            "tomorrow",
        ),
        (
            json!({ "propertyName": "amount", "operator": "BETWEEN", "value": "1" }),
            format!("{f}.highValue"),
            "REQUIRED",
            "BETWEEN",
        ),
        (
            json!({ "propertyName": "dealstage", "operator": "IN" }),
            format!("{f}.values"),
            "REQUIRED",
            "IN",
        ),
        (
            json!({ "propertyName": "dealstage", "operator": "NOT_IN", "values": [] }),
            format!("{f}.values"),
            "REQUIRED",
            "NOT_IN",
        ),
        (
            json!({ "propertyName": "amount", "operator": "IN", "values": ["1", "two"] }),
            format!("{f}.values[1]"),
            "INVALID_FILTER_VALUE",
            "two",
        ),
        (
            json!({ "propertyName": "description", "operator": "CONTAINS_TOKEN", "value": " " }),
            format!("{f}.value"),
            "REQUIRED",
            "CONTAINS_TOKEN",
        ),
    ];
    for (filter, field, code, mentioned) in cases {
        let response = crm.search("deals", &one_filter(filter.clone())).await;
        assert_invalid(&response, &field, code, &[mentioned]);
    }

    // Every problem of one request at once.
    let response = crm
        .search(
            "deals",
            &json!({
                "filterGroups": [{ "filters": [
                    { "propertyName": "colour", "operator": "EQ", "value": "x" },
                    { "propertyName": "amount", "operator": "GT", "value": "lots" },
                ]}],
                "sorts": ["size"],
                "limit": 500,
            }),
        )
        .await;
    let mut fields: Vec<&str> = response
        .errors()
        .iter()
        .map(|e| e["in"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "filterGroups[0].filters[0].propertyName",
            "filterGroups[0].filters[1].value",
            "limit",
            "sorts[0].propertyName",
        ]
    );

    // Sorts: one rule, a known property, a known direction.
    let two = crm
        .search("deals", &json!({ "sorts": ["amount", "dealname"] }))
        .await;
    assert_invalid(&two, "sorts", "TOO_MANY_SORTS", &["2", "1"]);
    let direction = crm
        .search(
            "deals",
            &json!({ "sorts": [{ "propertyName": "amount", "direction": "UP" }] }),
        )
        .await;
    assert_invalid(
        &direction,
        "sorts[0].direction",
        "INVALID_SORT_DIRECTION",
        &["UP"],
    );
    let unknown = crm.search("deals", &json!({ "sorts": ["-size"] })).await;
    assert_invalid(
        &unknown,
        "sorts[0].propertyName",
        "PROPERTY_DOESNT_EXIST",
        &["size"],
    );

    // Unknown request fields are refused by name.
    let field = crm.search("deals", &json!({ "filters": [] })).await;
    field.assert_api_error(400, "VALIDATION_ERROR");
    assert!(field.text.contains("filters"), "{}", field.text);
}
