//! `GET /events/v3/events` (the SDKs add a trailing slash; both are served) and
//! `GET /events/v3/events/event-types`: reading completions back (api-reference §1.3).
//!
//! Filters: `eventType`, `objectType` (singular or plural) with `objectId` or
//! `objectProperty.<unique property>`, `property.<name>=<value>` on at most 50 distinct
//! properties (repeats of one filter count once; one property asked for two values matches
//! nothing),
//! `occurredAfter` / `occurredBefore` (inclusive), repeated `id`. Pages follow the time order
//! (`sort=ASCENDING|DESCENDING`, newest first by default) with opaque `after` / `before`
//! cursors that name a position `(occurredAt, sequence)`, so a page never repeats or skips a
//! completion while new ones arrive.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::Uri;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chronik_domain::crm::object::UniqueValue;
use chronik_domain::crm::object_type::{ObjectTypeId, StandardType};
use chronik_domain::crm::property::{format_datetime, parse_datetime};
use chronik_domain::custom_events::completion::fold_property_filters;
use chronik_domain::custom_events::definition::{fully_qualified_name, short_name};
use chronik_domain::{EventDefinitionId, ObjectId, ValidationError};
use chronik_store::{CompletionCursor, CompletionPage, CompletionQuery, StoreError};
use chrono::{DateTime, Utc};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::{
    CollectionResponseExternalUnifiedEvent, ExternalUnifiedEvent, NextPage, Paging, PreviousPage,
    VisibleExternalEventTypeNames,
};
use super::READ_SCOPES;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::QueryPairs;
use crate::object_types::resolve_type;
use crate::state::AppState;

/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 100;

/// The largest `limit`.
pub const MAX_LIMIT: usize = 1_000;

/// The most `id` values one request may filter on.
pub const MAX_IDS: usize = 100;

/// The parameters `GET /events/v3/events` takes besides `objectProperty.*` and `property.*`.
const PARAMETERS: &[&str] = &[
    "objectType",
    "objectId",
    "eventType",
    "occurredAfter",
    "occurredBefore",
    "after",
    "before",
    "limit",
    "sort",
    "id",
];

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_page))
        .routes(routes!(get_types))
}

/// Read completions, filtered, a page at a time.
#[utoipa::path(
    get,
    path = "/events/v3/events",
    tag = "Custom events",
    params(
        ("objectType" = Option<String>, Query, description = "contact(s), company/companies, deal(s), ticket(s) or a custom object; needs objectId or objectProperty.<name>"),
        ("objectId" = Option<i64>, Query, description = "The record's id"),
        ("eventType" = Option<String>, Query, description = "pe{portalId}_{name}"),
        ("occurredAfter" = Option<String>, Query, description = "ISO 8601, inclusive"),
        ("occurredBefore" = Option<String>, Query, description = "ISO 8601, inclusive"),
        ("after" = Option<String>, Query, description = "paging.next.after of the previous page"),
        ("before" = Option<String>, Query, description = "paging.prev.before of the next page"),
        ("limit" = Option<usize>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("sort" = Option<String>, Query, description = "ASCENDING or DESCENDING by occurrence time (default DESCENDING)"),
        ("id" = Option<Vec<String>>, Query, description = "Occurrence ids, repeated"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CollectionResponseExternalUnifiedEvent),
        (status = 400, description = "Invalid filter", body = crate::error::ErrorBody),
    )
)]
async fn get_page(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    query: QueryPairs,
) -> Result<axum::Json<CollectionResponseExternalUnifiedEvent>, ApiError> {
    caller.require_any(READ_SCOPES)?;
    let Some(parsed) = parse_query(&state, &caller, &query).await? else {
        // A filter that matches nothing in this account (an unknown event type or record).
        return Ok(axum::Json(CollectionResponseExternalUnifiedEvent {
            results: Vec::new(),
            paging: None,
        }));
    };
    let page = state
        .store
        .query_completions(caller.account, &parsed)
        .await?;
    Ok(axum::Json(
        render(
            &state,
            &caller,
            &uri,
            &parsed,
            query.first("eventType"),
            page,
        )
        .await?,
    ))
}

/// List the account's event types.
#[utoipa::path(
    get,
    path = "/events/v3/events/event-types",
    tag = "Custom events",
    security(("bearer" = [])),
    responses((status = 200, body = VisibleExternalEventTypeNames))
)]
async fn get_types(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<VisibleExternalEventTypeNames>, ApiError> {
    caller.require_any(READ_SCOPES)?;
    let mut event_types: Vec<String> = state
        .store
        .list_event_definitions(caller.account)
        .await?
        .iter()
        .map(|d| fully_qualified_name(caller.account.0, &d.definition.name))
        .collect();
    event_types.sort();
    Ok(axum::Json(VisibleExternalEventTypeNames { event_types }))
}

fn invalid(field: &str, code: &'static str, message: String) -> ApiError {
    ApiError::validation(vec![ValidationError::new(field, code, message)])
}

/// The store query the parameters ask for; `None` when they name something this account does
/// not have, so nothing can match.
async fn parse_query(
    state: &AppState,
    caller: &Caller,
    q: &QueryPairs,
) -> Result<Option<CompletionQuery>, ApiError> {
    let mut query = CompletionQuery {
        limit: q.limit("limit", DEFAULT_LIMIT, MAX_LIMIT)?,
        descending: true,
        ..Default::default()
    };
    let mut object_property: Option<(String, String)> = None;
    for (key, value) in &q.0 {
        if let Some(name) = key.strip_prefix("property.") {
            let name = name.to_lowercase();
            check_name(key, &name)?;
            query.properties.push((name, value.clone()));
        } else if let Some(name) = key.strip_prefix("objectProperty.") {
            check_name(key, name)?;
            if object_property.is_some() {
                return Err(invalid(
                    key,
                    "TOO_MANY_VALUES",
                    "send one objectProperty.<name> filter; a record is found by one unique property".into(),
                ));
            }
            object_property = Some((name.to_owned(), value.clone()));
        } else if !PARAMETERS.contains(&key.as_str()) {
            return Err(invalid(
                key,
                "UNKNOWN_PARAMETER",
                format!(
                    "unknown query parameter {key}; this endpoint takes {}, objectProperty.<name> and property.<name>",
                    PARAMETERS.join(", ")
                ),
            ));
        }
    }
    if let Some(sort) = q.first("sort") {
        query.descending = match sort.to_ascii_uppercase().as_str() {
            "ASCENDING" | "ASC" => false,
            "DESCENDING" | "DESC" => true,
            _ => {
                return Err(invalid(
                    "sort",
                    "INVALID_SORT",
                    format!("sort \"{sort}\" must be ASCENDING or DESCENDING"),
                ))
            }
        };
    }
    query.occurred_after = time(q, "occurredAfter")?;
    query.occurred_before = time(q, "occurredBefore")?;
    query.after = q
        .first("after")
        .map(|c| decode_cursor("after", c))
        .transpose()?;
    query.before = q
        .first("before")
        .map(|c| decode_cursor("before", c))
        .transpose()?;
    query.uuids =
        q.0.iter()
            .filter(|(k, _)| k == "id")
            .map(|(_, v)| v.clone())
            .collect();
    query.properties = match fold_property_filters(std::mem::take(&mut query.properties)) {
        Ok(Some(folded)) => folded,
        // One property asked for two values: nothing can match.
        Ok(None) => return Ok(None),
        Err(e) => return Err(ApiError::validation(vec![e])),
    };
    if query.uuids.len() > MAX_IDS {
        return Err(invalid(
            "id",
            "TOO_MANY_VALUES",
            format!(
                "id is given {} times; filter on at most {MAX_IDS} occurrence ids",
                query.uuids.len()
            ),
        ));
    }
    if let Some(event_type) = q.first("eventType") {
        let Some(name) = short_name(caller.account.0, event_type) else {
            return Ok(None);
        };
        query.definition_id = match state.event_type_ids.get(caller.account, name) {
            Some(id) => Some(id),
            None => match state.store.get_event_definition(caller.account, name).await {
                Ok(d) => {
                    state.event_type_ids.keep(caller.account, name, d.id);
                    Some(d.id)
                }
                Err(StoreError::NotFound) => return Ok(None),
                Err(e) => return Err(e.into()),
            },
        };
    }
    let object_id = q.first("objectId");
    match (q.first("objectType"), object_id, object_property) {
        (None, None, None) => {}
        (None, _, _) => {
            return Err(invalid(
                "objectType",
                "REQUIRED",
                "objectType is required with objectId or objectProperty.<name> (e.g. objectType=contact)".into(),
            ))
        }
        (Some(_), None, None) => {
            return Err(invalid(
                "objectId",
                "REQUIRED",
                "objectType needs objectId or objectProperty.<name> (e.g. objectProperty.email=…) to name the record".into(),
            ))
        }
        (Some(_), Some(_), Some((name, _))) => {
            return Err(invalid(
                &format!("objectProperty.{name}"),
                "TOO_MANY_VALUES",
                "send objectId or objectProperty.<name>, not both".into(),
            ))
        }
        (Some(segment), Some(raw), None) => {
            let t = resolve_type(state, caller, segment).await?;
            let id = raw.parse::<i64>().map_err(|_| {
                invalid(
                    "objectId",
                    "INVALID_OBJECT_ID",
                    format!("objectId \"{raw}\" is not a record id (a whole number)"),
                )
            })?;
            query.record = Some((t.type_id, ObjectId(id)));
        }
        (Some(segment), None, Some((name, value))) => {
            let t = resolve_type(state, caller, segment).await?;
            let field = format!("objectProperty.{name}");
            if name == "hs_object_id" {
                let Ok(id) = value.parse::<i64>() else {
                    return Ok(None);
                };
                query.record = Some((t.type_id, ObjectId(id)));
            } else {
                let unique = t.properties.get(&name).is_some_and(|p| p.has_unique_value);
                if !unique {
                    return Err(invalid(
                        &field,
                        "NOT_UNIQUE",
                        format!(
                            "{name} is not a unique property of {}; find the record by hs_object_id{} or a property with hasUniqueValue",
                            t.singular(),
                            if t.standard == Some(StandardType::Contacts) { ", email" } else { "" }
                        ),
                    ));
                }
                let found = state
                    .store
                    .find_by_unique(caller.account, t.type_id, &[UniqueValue::new(&name, &value)])
                    .await?;
                let Some(record) = found.first() else {
                    return Ok(None);
                };
                query.record = Some((t.type_id, record.id));
            }
        }
    }
    Ok(Some(query))
}

/// Property names in filters are internal names: `a-z`, `0-9`, `_`.
fn check_name(key: &str, name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        return Ok(());
    }
    let hint = if name.contains('{') {
        " (the Python SDK 12.0.0 sends this for object_property_propname/property_propname; use client.api_request with the real parameter name instead)"
    } else {
        ""
    };
    Err(invalid(
        key,
        "INVALID_NAME",
        format!("{key}: \"{name}\" is not a property name (a-z, 0-9 and _){hint}"),
    ))
}

fn time(q: &QueryPairs, key: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(raw) = q.first(key) else {
        return Ok(None);
    };
    // An offset's `+` arrives as a space when a client did not percent-encode it.
    let fixed = raw.trim().replace(' ', "+");
    parse_datetime(&fixed).map(Some).ok_or_else(|| {
        invalid(
            key,
            "INVALID_DATETIME",
            format!(
                "{key} \"{raw}\" is not ISO 8601 (e.g. 2024-01-02T03:04:05Z) or epoch milliseconds"
            ),
        )
    })
}

fn encode_cursor(c: CompletionCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", c.occurred_at_ms, c.seq))
}

fn decode_cursor(key: &str, raw: &str) -> Result<CompletionCursor, ApiError> {
    let bad = || {
        invalid(
            key,
            "INVALID_CURSOR",
            format!("{key} \"{raw}\" is not a cursor from paging.next.after or paging.prev.before"),
        )
    };
    let text = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let text = String::from_utf8(text).map_err(|_| bad())?;
    let (at, seq) = text.split_once(':').ok_or_else(bad)?;
    Ok(CompletionCursor {
        occurred_at_ms: at.parse().map_err(|_| bad())?,
        seq: seq.parse().map_err(|_| bad())?,
    })
}

/// `link`: this request's path and query with the cursor replaced.
fn link(uri: &Uri, key: &str, cursor: &str) -> String {
    let kept: Vec<(String, String)> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "after" && k != "before")
        .chain([(key.to_owned(), cursor.to_owned())])
        .collect();
    let query = serde_urlencoded::to_string(kept).unwrap_or_default();
    format!("{}?{query}", uri.path())
}

async fn render(
    state: &AppState,
    caller: &Caller,
    uri: &Uri,
    query: &CompletionQuery,
    event_type: Option<&str>,
    page: CompletionPage,
) -> Result<CollectionResponseExternalUnifiedEvent, ApiError> {
    let names: HashMap<EventDefinitionId, String> = if page.items.is_empty() {
        HashMap::new()
    } else if let (Some(id), Some(name)) = (query.definition_id, event_type) {
        // Filtered by event type: every item is of the one asked for, by its exact name.
        HashMap::from([(id, name.to_owned())])
    } else {
        state
            .store
            .list_event_definitions(caller.account)
            .await?
            .into_iter()
            .map(|d| {
                (
                    d.id,
                    fully_qualified_name(caller.account.0, &d.definition.name),
                )
            })
            .collect()
    };
    let backward = query.after.is_none() && query.before.is_some();
    let has_next = if backward { true } else { page.more };
    let has_prev = if backward {
        page.more
    } else {
        query.after.is_some()
    };
    let next = match (has_next, page.items.last()) {
        (true, Some(last)) => {
            let after = encode_cursor(last.cursor);
            Some(NextPage {
                link: link(uri, "after", &after),
                after,
            })
        }
        _ => None,
    };
    let prev = match (has_prev, page.items.first()) {
        (true, Some(first)) => {
            let before = encode_cursor(first.cursor);
            Some(PreviousPage {
                link: link(uri, "before", &before),
                before,
            })
        }
        _ => None,
    };
    let results = page
        .items
        .into_iter()
        .map(|c| ExternalUnifiedEvent {
            object_type: object_type_name(c.object_type_id),
            object_id: c.object_id.0.to_string(),
            event_type: names
                .get(&c.definition_id)
                .cloned()
                .unwrap_or_else(|| c.definition_id.to_string()),
            occurred_at: format_datetime(c.occurred_at()),
            id: c.uuid,
            properties: c.properties,
        })
        .collect();
    let paging = (next.is_some() || prev.is_some()).then_some(Paging { next, prev });
    Ok(CollectionResponseExternalUnifiedEvent { results, paging })
}

/// `CONTACT`, `COMPANY`, `DEAL`, `TICKET`, or a custom object's type id.
fn object_type_name(type_id: ObjectTypeId) -> String {
    type_id
        .standard()
        .map(|t| t.singular().to_ascii_uppercase())
        .unwrap_or_else(|| type_id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = CompletionCursor {
            occurred_at_ms: 1_700_000_000_123,
            seq: 42,
        };
        assert_eq!(decode_cursor("after", &encode_cursor(c)).unwrap(), c);
        for bad in [
            "",
            "not base64!",
            &URL_SAFE_NO_PAD.encode("12"),
            &URL_SAFE_NO_PAD.encode("a:b"),
        ] {
            assert!(decode_cursor("after", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn links_keep_the_filters_and_replace_the_cursor() {
        let uri: Uri = "/events/v3/events?eventType=pe1_x&after=old&property.hs_city=new+york"
            .parse()
            .unwrap();
        assert_eq!(
            link(&uri, "after", "NEW"),
            "/events/v3/events?eventType=pe1_x&property.hs_city=new+york&after=NEW"
        );
    }
}
