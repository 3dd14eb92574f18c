//! `POST /crm/v3/objects/{objectType}/search`. The domain parses and evaluates the query
//! (`chronik_domain::crm::search`); here the candidates are fetched: only the records an
//! index pins (ids, unique values such as a contact's email) when every filter group pins
//! some, else every record of the type, page by page.

use std::collections::BTreeMap;

use axum::extract::State;
use chronik_domain::crm::search::{FilterInput, Key, SearchInput, SearchQuery, SortInput};
use chronik_domain::ObjectId;

use super::objects::{render, View};
use super::wire::*;
use super::{resolve_objects, Access};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path};
use crate::state::AppState;

/// Records read per store call while scanning.
const SCAN_CHUNK: usize = 2_000;

fn text(v: Option<PropertyValue>) -> Option<String> {
    v.map(PropertyValue::into_text)
}

fn to_input(body: PublicObjectSearchRequest) -> SearchInput {
    SearchInput {
        filter_groups: body
            .filter_groups
            .into_iter()
            .map(|g| {
                g.filters
                    .into_iter()
                    .map(|f| FilterInput {
                        property_name: f.property_name,
                        operator: f.operator,
                        value: text(f.value),
                        values: f
                            .values
                            .map(|vs| vs.into_iter().map(PropertyValue::into_text).collect()),
                        high_value: text(f.high_value),
                    })
                    .collect()
            })
            .collect(),
        sorts: body
            .sorts
            .into_iter()
            .map(|s| match s {
                SortRule::Name(name) => SortInput {
                    property_name: name,
                    direction: None,
                },
                SortRule::Object {
                    property_name,
                    direction,
                } => SortInput {
                    property_name,
                    direction,
                },
            })
            .collect(),
        query: body.query,
        properties: body.properties,
        limit: body.limit,
        after: body.after,
    }
}

/// Searches records with filter groups, a free-text query, one sort rule and paging.
#[utoipa::path(post, path = "/crm/v3/objects/{objectType}/search", tag = "crm",
    params(("objectType" = String, Path)),
    request_body = PublicObjectSearchRequest, security(("bearer" = [])),
    responses((status = 200, body = SearchPage), (status = 400, body = ErrorBody)))]
pub async fn do_search(
    State(state): State<AppState>,
    caller: Caller,
    Path(object_type): Path<String>,
    Json(body): Json<PublicObjectSearchRequest>,
) -> Result<axum::Json<SearchPage>, ApiError> {
    let t = resolve_objects(&state, &caller, &object_type, Access::Read).await?;
    let query = SearchQuery::parse(to_input(body), &t.properties, &t.searchable())?;
    let mut matches: Vec<(chronik_store::StoredObject, BTreeMap<String, String>)> = Vec::new();
    let mut keep = |o: chronik_store::StoredObject| {
        let all =
            t.properties
                .with_system_values(o.id.0, o.created_at, o.updated_at, &o.properties);
        if query.matches(&all) {
            matches.push((o, all));
        }
    };
    match query.keys() {
        Some(keys) => {
            let ids: Vec<ObjectId> = keys
                .iter()
                .filter_map(|k| {
                    if let Key::Id(id) = k {
                        Some(ObjectId(*id))
                    } else {
                        None
                    }
                })
                .collect();
            let unique: Vec<_> = keys
                .into_iter()
                .filter_map(|k| {
                    if let Key::Unique(u) = k {
                        Some(u)
                    } else {
                        None
                    }
                })
                .collect();
            let mut seen = std::collections::BTreeSet::new();
            let mut candidates = state
                .store
                .get_objects(caller.account, t.type_id, &ids, false)
                .await?;
            candidates.extend(
                state
                    .store
                    .find_by_unique(caller.account, t.type_id, &unique)
                    .await?,
            );
            for o in candidates {
                if seen.insert(o.id) {
                    keep(o);
                }
            }
        }
        None => {
            let mut after = None;
            loop {
                let chunk = state
                    .store
                    .list_objects(caller.account, t.type_id, after, SCAN_CHUNK, false)
                    .await?;
                let done = chunk.len() < SCAN_CHUNK;
                after = chunk.last().map(|o| o.id);
                chunk.into_iter().for_each(&mut keep);
                if done {
                    break;
                }
            }
        }
    }
    let total = matches.len();
    let mut order: Vec<(i64, &BTreeMap<String, String>)> =
        matches.iter().map(|(o, all)| (o.id.0, all)).collect();
    query.sort(&mut order);
    let page_ids: Vec<i64> = order
        .iter()
        .skip(query.offset)
        .take(query.limit)
        .map(|(id, _)| *id)
        .collect();
    let mut by_id: BTreeMap<i64, chronik_store::StoredObject> =
        matches.into_iter().map(|(o, _)| (o.id.0, o)).collect();
    let view = View {
        properties: query.properties.clone(),
        with_history: Vec::new(),
    };
    let mut results = Vec::with_capacity(page_ids.len());
    for id in &page_ids {
        if let Some(o) = by_id.remove(id) {
            results.push(render(&state, &caller, &t, o, &view).await?);
        }
    }
    let next = query.offset + page_ids.len();
    Ok(axum::Json(SearchPage {
        total,
        results,
        paging: (next < total).then(|| ForwardPaging {
            next: NextPage {
                after: next.to_string(),
                link: format!("/crm/v3/objects/{object_type}/search"),
            },
        }),
    }))
}
