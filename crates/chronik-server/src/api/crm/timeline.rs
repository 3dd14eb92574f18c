//! `GET /crm/v3/objects/{objectType}/{objectId}/timeline`: a record's timeline as its users
//! see it (Chronik's own route; HubSpot shows timelines only in its web app). Custom event
//! completions and app timeline events (v3 templates, v4 app event types) together, newest
//! first, each with its rendered header and detail, its iframe and its app's icon; the web
//! pages are built on it.
//!
//! Two streams are read, each already newest first, and merged: the record's completions
//! (`CustomEventStore::query_completions`) and its timeline events
//! (`TimelineStore::query_timeline_events`). A page's cursor is the position of its last card
//! in one order over both, `(time, kind, seq)` descending, so paging is stable while events
//! arrive; each stream is asked for one more than a page, strictly past the cursor.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::State;
use chronik_domain::custom_events::definition::fully_qualified_name;
use chronik_domain::render::{RenderInput, Templates};
use chronik_domain::timeline::event::{visible_values, TimelineIframe};
use chronik_domain::timeline::event_type::Origin;
use chronik_domain::{EventDefinitionId, EventTypeId, ObjectId, ValidationError};
use chronik_store::{
    CompletionCursor, CompletionQuery, StoreError, StoredCompletion, StoredEventType,
    StoredTimelineEvent, TimelineCursor, TimelineQuery,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{resolve_objects, Access};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Path, QueryPairs};
use crate::state::AppState;

/// Cards per page when `limit` is not given.
const DEFAULT_LIMIT: usize = 50;
/// The most cards a page may ask for.
const MAX_LIMIT: usize = 100;
/// The most `eventType` filters one request may give.
const MAX_TYPE_FILTERS: usize = 50;

/// Which API an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(clippy::enum_variant_names)] // HubSpot-style kind names, each an event
pub enum TimelineKind {
    /// A custom behavioral event completion (`/events/v3/send`).
    CustomEvent,
    /// A CRM timeline event of a v3 event template.
    TimelineEvent,
    /// An app event of a v4 event type.
    AppEvent,
}

impl TimelineKind {
    /// Where the kind sits among events of the same millisecond, in the merged order.
    fn rank(self) -> u8 {
        match self {
            TimelineKind::CustomEvent => 0,
            TimelineKind::TimelineEvent | TimelineKind::AppEvent => 1,
        }
    }

    fn parse(raw: &str) -> Option<TimelineKind> {
        [
            TimelineKind::CustomEvent,
            TimelineKind::TimelineEvent,
            TimelineKind::AppEvent,
        ]
        .into_iter()
        .find(|k| raw.eq_ignore_ascii_case(k.as_str()))
    }

    fn as_str(self) -> &'static str {
        match self {
            TimelineKind::CustomEvent => "CUSTOM_EVENT",
            TimelineKind::TimelineEvent => "TIMELINE_EVENT",
            TimelineKind::AppEvent => "APP_EVENT",
        }
    }
}

/// One card of a record's timeline.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineCard {
    /// Which API the event came from.
    pub kind: TimelineKind,
    /// Its type: a custom event's fully qualified name (`pe{portalId}_{name}`), a v3 template's
    /// id, a v4 type's `ae{appId}_{uid}`.
    pub event_type: String,
    /// The type's label (custom events) or name (templates).
    pub event_type_name: String,
    /// The event's id (a completion's `uuid`).
    pub id: String,
    /// When it happened.
    #[serde(serialize_with = "crate::timestamp::serialize")]
    pub occurred_at: DateTime<Utc>,
    /// The header, sanitized HTML.
    pub header_html: String,
    /// The detail, sanitized HTML.
    pub detail_html: String,
    /// The app whose event it is (timeline and app events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<i64>,
    /// Where the app's 30×30 icon is served (timeline and app events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// The iframe the card links to, when the event has one.
    #[serde(skip_serializing_if = "Option::is_none", rename = "timelineIFrame")]
    #[schema(value_type = Option<Object>)]
    pub timeline_iframe: Option<TimelineIframe>,
}

/// The next page's cursor. Named apart in the OpenAPI document from the CRM's `NextPage`
/// (which also has a `link`), whose schema it would otherwise replace.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TimelineNextPage)]
pub struct NextPage {
    /// Pass as `after`.
    pub after: String,
}

/// Paging of a timeline page.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelinePaging {
    /// The next (older) page, when there is one.
    pub next: NextPage,
}

/// A page of a record's timeline, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordTimeline {
    /// The cards.
    pub results: Vec<TimelineCard>,
    /// Present when older cards exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<TimelinePaging>,
}

/// A position in the merged order: `(time ms, kind rank, seq)`, descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Position {
    at_ms: i64,
    rank: u8,
    seq: i64,
}

impl Position {
    fn encode(self) -> String {
        format!("{}_{}_{}", self.at_ms, self.rank, self.seq)
    }

    fn decode(raw: &str) -> Option<Position> {
        let mut parts = raw.split('_');
        let p = Position {
            at_ms: parts.next()?.parse().ok()?,
            rank: parts.next()?.parse().ok().filter(|r| *r <= 1)?,
            seq: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(p)
    }
}

/// What to read, from the query string.
struct Filters {
    limit: usize,
    after: Option<Position>,
    kinds: Vec<TimelineKind>,
    custom_types: Vec<EventDefinitionId>,
    timeline_types: Vec<EventTypeId>,
    /// `eventType` filters were given (then a stream none of them names is not read).
    by_type: bool,
    occurred_after: Option<DateTime<Utc>>,
    occurred_before: Option<DateTime<Utc>>,
}

/// A record's timeline: custom event completions, timeline events and app events together,
/// newest first. Filters: `kind` (`CUSTOM_EVENT`, `TIMELINE_EVENT`, `APP_EVENT`; repeatable),
/// `eventType` (repeatable), `occurredAfter` / `occurredBefore` (ISO 8601 or epoch ms,
/// inclusive); paging with `limit` (1–100, default 50) and `after`.
#[utoipa::path(get, path = "/crm/v3/objects/{objectType}/{objectId}/timeline", tag = "crm",
    params(("objectType" = String, Path), ("objectId" = String, Path),
        ("limit" = Option<usize>, Query), ("after" = Option<String>, Query),
        ("kind" = Option<Vec<String>>, Query), ("eventType" = Option<Vec<String>>, Query),
        ("occurredAfter" = Option<String>, Query), ("occurredBefore" = Option<String>, Query)),
    security(("bearer" = [])),
    responses((status = 200, body = RecordTimeline), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_timeline(
    State(state): State<AppState>,
    caller: Caller,
    Path((object_type, object_id)): Path<(String, String)>,
    query: QueryPairs,
) -> Result<axum::Json<RecordTimeline>, ApiError> {
    let t = resolve_objects(&state, &caller, &object_type, Access::Read).await?;
    let id = object_id
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(ObjectId)
        .ok_or_else(|| record_not_found(&object_id))?;
    if state
        .store
        .get_objects(caller.account, t.type_id, &[id], false)
        .await?
        .is_empty()
    {
        return Err(record_not_found(&object_id));
    }
    let filters = filters(&state, &caller, &query).await?;
    let record = (t.type_id, id);
    let wants = |k: TimelineKind| filters.kinds.is_empty() || filters.kinds.contains(&k);

    let (completions, completions_more) = if wants(TimelineKind::CustomEvent)
        && (!filters.by_type || !filters.custom_types.is_empty())
    {
        read_completions(&state, &caller, record, &filters).await?
    } else {
        (Vec::new(), false)
    };
    let (events, events_more) = if (wants(TimelineKind::TimelineEvent)
        || wants(TimelineKind::AppEvent))
        && (!filters.by_type || !filters.timeline_types.is_empty())
    {
        read_events(&state, &caller, record, &filters).await?
    } else {
        (Vec::new(), false)
    };

    let mut cards = Cards::new(&state, &caller);
    let mut merged: Vec<(Position, Item)> = completions
        .into_iter()
        .map(|c| {
            let p = Position {
                at_ms: c.cursor.occurred_at_ms,
                rank: TimelineKind::CustomEvent.rank(),
                seq: c.cursor.seq,
            };
            (p, Item::Completion(c))
        })
        .chain(events.into_iter().map(|e| {
            let p = Position {
                at_ms: e.cursor.occurred_at_ms,
                rank: TimelineKind::TimelineEvent.rank(),
                seq: e.cursor.seq,
            };
            (p, Item::Event(Box::new(e)))
        }))
        .collect();
    merged.sort_unstable_by_key(|(p, _)| std::cmp::Reverse(*p));

    // Every item read is consumed in order (a card the kind filter leaves out too), so the
    // cursor moves past it; a page may then be short, and `more` still says whether older
    // cards may follow.
    let mut results = Vec::with_capacity(filters.limit);
    let mut last = None;
    let mut more = completions_more || events_more;
    for (position, item) in merged {
        if results.len() == filters.limit {
            more = true;
            break;
        }
        last = Some(position);
        if let Some(card) = cards.card(item, &filters).await? {
            results.push(card);
        }
    }
    Ok(axum::Json(RecordTimeline {
        results,
        paging: last.filter(|_| more).map(|p| TimelinePaging {
            next: NextPage { after: p.encode() },
        }),
    }))
}

enum Item {
    Completion(StoredCompletion),
    Event(Box<StoredTimelineEvent>),
}

fn record_not_found(raw: &str) -> ApiError {
    ApiError::not_found(format!(
        "No record with id {raw} of this object type exists in this account"
    ))
}

fn invalid(field: &str, message: String) -> ApiError {
    ApiError::validation(vec![ValidationError::new(field, "INVALID_FILTER", message)])
}

async fn filters(
    state: &AppState,
    caller: &Caller,
    query: &QueryPairs,
) -> Result<Filters, ApiError> {
    let limit = query.limit("limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = match query.first("after") {
        None => None,
        Some(raw) => Some(Position::decode(raw).ok_or_else(|| {
            invalid(
                "after",
                format!("after \"{raw}\" is not a cursor this endpoint gave: pass paging.next.after as it came"),
            )
        })?),
    };
    let mut kinds = Vec::new();
    for raw in query.list("kind") {
        kinds.push(TimelineKind::parse(&raw).ok_or_else(|| {
            invalid(
                "kind",
                format!("kind \"{raw}\" is not one of CUSTOM_EVENT, TIMELINE_EVENT, APP_EVENT"),
            )
        })?);
    }
    let types = query.list("eventType");
    if types.len() > MAX_TYPE_FILTERS {
        return Err(invalid(
            "eventType",
            format!(
                "{} eventType filters given; at most {MAX_TYPE_FILTERS} are allowed",
                types.len()
            ),
        ));
    }
    let mut custom_types = Vec::new();
    let mut timeline_types = Vec::new();
    if !types.is_empty() {
        let definitions = state.store.list_event_definitions(caller.account).await?;
        for raw in &types {
            if let Ok(n) = raw.parse::<i64>() {
                timeline_types.push(EventTypeId(n));
            } else if let Some(d) = definitions.iter().find(|d| {
                fully_qualified_name(caller.account.0, &d.definition.name) == *raw
                    || d.definition.name == *raw
            }) {
                custom_types.push(d.id);
            } else {
                return Err(invalid(
                    "eventType",
                    format!("eventType \"{raw}\" is neither an event template id nor a custom event of this account"),
                ));
            }
        }
    }
    let time = |key: &str| -> Result<Option<DateTime<Utc>>, ApiError> {
        query
            .first(key)
            .map(|raw| {
                chronik_domain::custom_events::completion::parse_occurred_at(
                    key,
                    Some(raw),
                    Utc::now(),
                )
                .map_err(|e| ApiError::validation(vec![e]))
            })
            .transpose()
    };
    Ok(Filters {
        limit,
        after,
        kinds,
        by_type: !types.is_empty(),
        custom_types,
        timeline_types,
        occurred_after: time("occurredAfter")?,
        occurred_before: time("occurredBefore")?,
    })
}

async fn read_completions(
    state: &AppState,
    caller: &Caller,
    record: (chronik_domain::crm::object_type::ObjectTypeId, ObjectId),
    f: &Filters,
) -> Result<(Vec<StoredCompletion>, bool), ApiError> {
    // Completions sort before timeline events of the same millisecond in the merged order
    // (rank 0 < 1, descending): past a timeline cursor, every completion of its millisecond
    // is still to come.
    let after = f.after.map(|p| CompletionCursor {
        occurred_at_ms: p.at_ms,
        seq: if p.rank == TimelineKind::CustomEvent.rank() {
            p.seq
        } else {
            i64::MAX
        },
    });
    let mut out = Vec::new();
    let mut more = false;
    let definitions: Vec<Option<EventDefinitionId>> = if f.custom_types.is_empty() {
        vec![None]
    } else {
        f.custom_types.iter().copied().map(Some).collect()
    };
    for definition_id in definitions {
        let page = state
            .store
            .query_completions(
                caller.account,
                &CompletionQuery {
                    definition_id,
                    record: Some(record),
                    occurred_after: f.occurred_after,
                    occurred_before: f.occurred_before,
                    descending: true,
                    limit: f.limit + 1,
                    after,
                    ..Default::default()
                },
            )
            .await?;
        more |= page.more;
        out.extend(page.items);
    }
    Ok((out, more))
}

async fn read_events(
    state: &AppState,
    caller: &Caller,
    record: (chronik_domain::crm::object_type::ObjectTypeId, ObjectId),
    f: &Filters,
) -> Result<(Vec<StoredTimelineEvent>, bool), ApiError> {
    let before = f.after.map(|p| TimelineCursor {
        occurred_at_ms: p.at_ms,
        seq: if p.rank == TimelineKind::CustomEvent.rank() {
            // Past a completion, the timeline events of its millisecond came before it.
            i64::MIN
        } else {
            p.seq
        },
    });
    let page = state
        .store
        .query_timeline_events(
            caller.account,
            &TimelineQuery {
                record,
                type_ids: f.timeline_types.clone(),
                occurred_after: f.occurred_after,
                occurred_before: f.occurred_before,
                limit: f.limit + 1,
                before,
            },
        )
        .await?;
    Ok((page.items, page.more))
}

/// An event type as its cards need it: with its compiled templates and its app's icon link
/// (none when the app has no icon).
type CardType = (StoredEventType, Arc<Templates>, Option<String>);

/// Renders cards, reading each event type and definition once per request.
struct Cards<'a> {
    state: &'a AppState,
    caller: &'a Caller,
    /// `None` for a type that is gone.
    types: HashMap<EventTypeId, Option<CardType>>,
    definitions: Option<HashMap<EventDefinitionId, (String, String)>>,
    zone: Option<chrono_tz::Tz>,
}

impl<'a> Cards<'a> {
    fn new(state: &'a AppState, caller: &'a Caller) -> Self {
        Cards {
            state,
            caller,
            types: HashMap::new(),
            definitions: None,
            zone: None,
        }
    }

    /// The card of an item; `None` for an event whose type is gone or whose kind the filters
    /// leave out.
    async fn card(&mut self, item: Item, f: &Filters) -> Result<Option<TimelineCard>, ApiError> {
        match item {
            Item::Completion(c) => self.completion_card(c).await.map(Some),
            Item::Event(e) => {
                let card = self.event_card(*e).await?;
                Ok(card.filter(|c| f.kinds.is_empty() || f.kinds.contains(&c.kind)))
            }
        }
    }

    async fn completion_card(&mut self, c: StoredCompletion) -> Result<TimelineCard, ApiError> {
        if self.definitions.is_none() {
            let all = self
                .state
                .store
                .list_event_definitions(self.caller.account)
                .await?;
            self.definitions = Some(
                all.into_iter()
                    .map(|d| {
                        (
                            d.id,
                            (
                                fully_qualified_name(self.caller.account.0, &d.definition.name),
                                d.definition.label.clone(),
                            ),
                        )
                    })
                    .collect(),
            );
        }
        let (name, label) = self
            .definitions
            .as_ref()
            .and_then(|d| d.get(&c.definition_id).cloned())
            .unwrap_or_else(|| (c.definition_id.to_string(), c.definition_id.to_string()));
        Ok(TimelineCard {
            kind: TimelineKind::CustomEvent,
            occurred_at: c.occurred_at(),
            header_html: format!("<p>{}</p>", escape(&label)),
            detail_html: property_list(&c.properties),
            event_type: name,
            event_type_name: label,
            id: c.uuid,
            app_id: None,
            icon_url: None,
            timeline_iframe: None,
        })
    }

    async fn event_card(
        &mut self,
        e: StoredTimelineEvent,
    ) -> Result<Option<TimelineCard>, ApiError> {
        if !self.types.contains_key(&e.type_id) {
            let loaded = match self.state.store.get_event_type(e.type_id).await {
                Ok(t) if t.deleted_at.is_none() => {
                    let templates = self.state.templates.of(&t)?;
                    let icon = match self.state.store.app_icon(t.app).await {
                        Ok(_) => Some(crate::api::app_icons::icon_url(t.app)),
                        Err(StoreError::NotFound) => None,
                        Err(err) => return Err(err.into()),
                    };
                    Some((t, templates, icon))
                }
                Ok(_) | Err(StoreError::NotFound) => None,
                Err(err) => return Err(err.into()),
            };
            self.types.insert(e.type_id, loaded);
        }
        let zone = match self.zone {
            Some(z) => z,
            None => *self
                .zone
                .insert(self.state.account_time_zone(self.caller.account).await?),
        };
        let Some((t, templates, icon)) = self.types.get(&e.type_id).and_then(Option::as_ref) else {
            return Ok(None);
        };
        // A token removed from the type keeps its value in the event, but no render sees it.
        let tokens = visible_values(&t.definition, &e.body.tokens);
        let input = RenderInput {
            tokens: &tokens,
            timestamp_ms: e.cursor.occurred_at_ms,
            extra_data: e.body.extra_data.as_ref(),
            time_zone: zone,
        };
        let (kind, event_type) = match &t.definition.origin {
            Origin::Http => (TimelineKind::TimelineEvent, t.id.to_string()),
            Origin::Project { uid } => (TimelineKind::AppEvent, format!("ae{}_{uid}", t.app.0)),
        };
        Ok(Some(TimelineCard {
            kind,
            event_type,
            event_type_name: t.definition.name.clone(),
            occurred_at: e.occurred_at(),
            header_html: templates.render_header(&input),
            detail_html: templates.render_detail(&input),
            app_id: Some(t.app.0),
            icon_url: icon.clone(),
            timeline_iframe: e.body.timeline_iframe,
            id: e.id,
        }))
    }
}

/// A completion's properties as a definition list, every value escaped.
fn property_list(properties: &BTreeMap<String, String>) -> String {
    if properties.is_empty() {
        return String::new();
    }
    let mut out = String::from("<dl>");
    for (k, v) in properties {
        out.push_str("<dt>");
        out.push_str(&escape(k));
        out.push_str("</dt><dd>");
        out.push_str(&escape(v));
        out.push_str("</dd>");
    }
    out.push_str("</dl>");
    out
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let p = Position {
            at_ms: 1_580_000_000_000,
            rank: 1,
            seq: 42,
        };
        assert_eq!(Position::decode(&p.encode()), Some(p));
        for bad in ["", "1_2", "1_2_3", "a_0_1", "1_0_1_2"] {
            assert_eq!(Position::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_merged_order_puts_timeline_events_after_completions_of_the_same_millisecond() {
        let completion = Position {
            at_ms: 5,
            rank: 0,
            seq: 100,
        };
        let event = Position {
            at_ms: 5,
            rank: 1,
            seq: 1,
        };
        let mut v = vec![completion, event];
        v.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(v, [event, completion], "descending: the event comes first");
    }

    #[test]
    fn property_values_are_escaped() {
        let mut m = BTreeMap::new();
        m.insert("x".to_owned(), "<script>alert(1)</script>".to_owned());
        assert_eq!(
            property_list(&m),
            "<dl><dt>x</dt><dd>&lt;script&gt;alert(1)&lt;/script&gt;</dd></dl>"
        );
    }
}
