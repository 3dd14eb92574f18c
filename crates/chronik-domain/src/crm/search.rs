//! CRM search (`POST /crm/v3/objects/{objectType}/search`, api-reference §5.2): the request
//! parsed into a typed query with HubSpot's limits, and its evaluation over records.
//!
//! Evaluation happens here, in one place, for both backends: the store hands over candidate
//! records (all of a type, or only those an indexed key selects, see [`SearchQuery::keys`]) and
//! [`SearchQuery::matches`] decides. Filter groups are OR-ed, the filters of a group AND-ed.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::object::{PropertySet, UniqueValue};
use super::property::{parse_date, parse_datetime, parse_number, PropertyType};
use crate::error::{DomainError, Problems, ValidationError};

/// HubSpot: at most 5 filter groups per search.
pub const MAX_FILTER_GROUPS: usize = 5;
/// HubSpot: at most 6 filters in one group.
pub const MAX_FILTERS_PER_GROUP: usize = 6;
/// HubSpot: at most 18 filters in all groups together.
pub const MAX_FILTERS_TOTAL: usize = 18;
/// HubSpot: a page has at most 200 results.
pub const MAX_SEARCH_LIMIT: usize = 200;
/// HubSpot: 10 results when no limit is sent.
pub const DEFAULT_SEARCH_LIMIT: usize = 10;
/// HubSpot: search cannot page past the 10,000th result.
pub const MAX_SEARCH_RESULTS: usize = 10_000;
/// HubSpot: one sort rule per search.
pub const MAX_SORTS: usize = 1;

/// One filter as sent.
#[derive(Debug, Clone, Default)]
pub struct FilterInput {
    /// `propertyName`.
    pub property_name: Option<String>,
    /// `operator`.
    pub operator: Option<String>,
    /// `value`.
    pub value: Option<String>,
    /// `values`.
    pub values: Option<Vec<String>>,
    /// `highValue` (BETWEEN).
    pub high_value: Option<String>,
}

/// One sort rule as sent: `"prop"`, `"-prop"`, or `{propertyName, direction}`.
#[derive(Debug, Clone)]
pub struct SortInput {
    /// The property.
    pub property_name: String,
    /// `ASCENDING` or `DESCENDING` (absent: ascending).
    pub direction: Option<String>,
}

/// A search as sent, before checking.
#[derive(Debug, Clone, Default)]
pub struct SearchInput {
    /// `filterGroups[].filters[]`.
    pub filter_groups: Vec<Vec<FilterInput>>,
    /// `sorts`.
    pub sorts: Vec<SortInput>,
    /// `query`.
    pub query: Option<String>,
    /// `properties`.
    pub properties: Vec<String>,
    /// `limit`.
    pub limit: Option<i64>,
    /// `after` (an offset, as a string).
    pub after: Option<String>,
}

/// A typed comparison value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Number(f64),
    /// Lower-cased text; dates and datetimes in their stored (sortable) form.
    Text(String),
    /// Compared exactly (enumerations).
    Exact(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq(Value),
    Neq(Value),
    Lt(Value),
    Lte(Value),
    Gt(Value),
    Gte(Value),
    Between(Value, Value),
    In(Vec<Value>),
    NotIn(Vec<Value>),
    HasProperty,
    NotHasProperty,
    ContainsToken(String),
    NotContainsToken(String),
}

/// One checked filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    property: String,
    kind: PropertyType,
    multiple: bool,
    unique: bool,
    op: Op,
}

/// The sort order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    /// The property.
    pub property: String,
    /// Largest first.
    pub descending: bool,
}

/// A checked search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    groups: Vec<Vec<Filter>>,
    query: Option<String>,
    searchable: Vec<String>,
    sort: Option<(Sort, PropertyType)>,
    /// Properties to return (empty: the type's defaults).
    pub properties: Vec<String>,
    /// Page size.
    pub limit: usize,
    /// Offset of the page.
    pub offset: usize,
}

/// A key an index can answer: a record id or a unique value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// `hs_object_id`.
    Id(i64),
    /// A unique property's folded value.
    Unique(UniqueValue),
}

const OPERATORS: &str = "EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN";

impl SearchQuery {
    /// Checks `input` against the type's properties; `searchable` are the properties the
    /// free-text `query` looks in. Every problem is reported with its path.
    pub fn parse(
        input: SearchInput,
        set: &PropertySet,
        searchable: &[&str],
    ) -> Result<SearchQuery, DomainError> {
        let mut problems = Problems::new();
        if input.filter_groups.len() > MAX_FILTER_GROUPS {
            problems.push(ValidationError::new(
                "filterGroups",
                "TOO_MANY_FILTER_GROUPS",
                format!(
                    "filterGroups has {} groups; at most {MAX_FILTER_GROUPS} are allowed",
                    input.filter_groups.len()
                ),
            ));
        }
        let total: usize = input.filter_groups.iter().map(Vec::len).sum();
        if total > MAX_FILTERS_TOTAL {
            problems.push(ValidationError::new(
                "filterGroups",
                "TOO_MANY_FILTERS",
                format!("filterGroups have {total} filters in all; at most {MAX_FILTERS_TOTAL} are allowed"),
            ));
        }
        let mut groups = Vec::new();
        for (g, filters) in input.filter_groups.iter().enumerate() {
            if filters.len() > MAX_FILTERS_PER_GROUP {
                problems.push(ValidationError::new(
                    format!("filterGroups[{g}].filters"),
                    "TOO_MANY_FILTERS_IN_GROUP",
                    format!(
                        "filterGroups[{g}] has {} filters; at most {MAX_FILTERS_PER_GROUP} are allowed in one group",
                        filters.len()
                    ),
                ));
            }
            let mut group = Vec::new();
            for (f, filter) in filters.iter().enumerate() {
                match parse_filter(&format!("filterGroups[{g}].filters[{f}]"), filter, set) {
                    Ok(parsed) => group.push(parsed),
                    Err(errors) => errors.into_iter().for_each(|e| problems.push(e)),
                }
            }
            groups.push(group);
        }
        if input.sorts.len() > MAX_SORTS {
            problems.push(ValidationError::new(
                "sorts",
                "TOO_MANY_SORTS",
                format!(
                    "sorts has {} rules; at most {MAX_SORTS} is allowed",
                    input.sorts.len()
                ),
            ));
        }
        let mut sort = None;
        if let Some(s) = input.sorts.first() {
            let (name, descending) = match s.property_name.strip_prefix('-') {
                Some(name) if s.direction.is_none() => (name.to_owned(), true),
                _ => (s.property_name.clone(), false),
            };
            let descending = match s
                .direction
                .as_deref()
                .map(str::to_ascii_uppercase)
                .as_deref()
            {
                None => descending,
                Some("ASCENDING") => false,
                Some("DESCENDING") => true,
                Some(other) => {
                    problems.push(ValidationError::new(
                        "sorts[0].direction",
                        "INVALID_SORT_DIRECTION",
                        format!("sorts[0].direction \"{other}\" must be ASCENDING or DESCENDING"),
                    ));
                    false
                }
            };
            match set.get(&name) {
                Some(def) => {
                    sort = Some((
                        Sort {
                            property: name,
                            descending,
                        },
                        def.property_type,
                    ))
                }
                None => problems.push(unknown_property("sorts[0]", &name)),
            }
        }
        let limit = match input.limit {
            None => DEFAULT_SEARCH_LIMIT,
            Some(l) if l >= 1 && l as usize <= MAX_SEARCH_LIMIT => l as usize,
            Some(l) => {
                problems.push(ValidationError::new(
                    "limit",
                    "INVALID_LIMIT",
                    format!("limit is {l}; it must be between 1 and {MAX_SEARCH_LIMIT}"),
                ));
                DEFAULT_SEARCH_LIMIT
            }
        };
        let offset = match input
            .after
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            None => 0,
            Some(a) => match a.parse::<usize>() {
                Ok(n) => n,
                Err(_) => {
                    problems.push(ValidationError::new(
                        "after",
                        "INVALID_AFTER",
                        format!("after \"{a}\" must be the paging.next.after of a previous page"),
                    ));
                    0
                }
            },
        };
        if offset + limit > MAX_SEARCH_RESULTS {
            problems.push(ValidationError::new(
                "after",
                "PAGING_LIMIT",
                format!(
                    "after {offset} with limit {limit} reaches past result {MAX_SEARCH_RESULTS}; search returns at most the first {MAX_SEARCH_RESULTS} results, narrow the filters instead"
                ),
            ));
        }
        problems.finish(())?;
        Ok(SearchQuery {
            groups,
            query: input
                .query
                .map(|q| q.trim().to_lowercase())
                .filter(|q| !q.is_empty()),
            searchable: searchable.iter().map(|s| (*s).to_owned()).collect(),
            sort,
            properties: input.properties,
            limit,
            offset,
        })
    }

    /// Keys that every match must have one of, when an index can narrow the candidates:
    /// `Some` when each group pins `hs_object_id` or a unique property with EQ or IN.
    /// `None`: every record of the type is a candidate.
    pub fn keys(&self) -> Option<Vec<Key>> {
        if self.groups.is_empty() {
            return None;
        }
        let mut keys = Vec::new();
        for group in &self.groups {
            let pinned = group.iter().find_map(|f| {
                let values = match &f.op {
                    Op::Eq(v) => vec![v.clone()],
                    Op::In(vs) => vs.clone(),
                    _ => return None,
                };
                if f.property == "hs_object_id" {
                    Some(
                        values
                            .iter()
                            .filter_map(|v| match v {
                                Value::Number(n) if n.fract() == 0.0 => Some(Key::Id(*n as i64)),
                                _ => None,
                            })
                            .collect::<Vec<_>>(),
                    )
                } else if f.unique {
                    Some(
                        values
                            .iter()
                            .map(|v| match v {
                                Value::Text(t) | Value::Exact(t) => {
                                    Key::Unique(UniqueValue::new(&f.property, t))
                                }
                                Value::Number(n) => {
                                    Key::Unique(UniqueValue::new(&f.property, &n.to_string()))
                                }
                            })
                            .collect(),
                    )
                } else {
                    None
                }
            })?;
            keys.extend(pinned);
        }
        keys.sort();
        keys.dedup();
        Some(keys)
    }

    /// Whether a record with these properties (system values included) matches.
    pub fn matches(&self, props: &BTreeMap<String, String>) -> bool {
        let filtered = self.groups.is_empty()
            || self
                .groups
                .iter()
                .any(|g| g.iter().all(|f| f.matches(props)));
        filtered
            && match &self.query {
                None => true,
                Some(q) => self.searchable.iter().any(|p| {
                    props
                        .get(p)
                        .is_some_and(|v| v.to_lowercase().contains(q.as_str()))
                }),
            }
    }

    /// Orders matches (each with its id) as the request asks; ties and the default order are
    /// by id, ascending.
    pub fn sort(&self, records: &mut [(i64, &BTreeMap<String, String>)]) {
        let Some((sort, kind)) = &self.sort else {
            records.sort_by_key(|(id, _)| *id);
            return;
        };
        records.sort_by(|(a_id, a), (b_id, b)| {
            let (av, bv) = (a.get(&sort.property), b.get(&sort.property));
            let ord = match (av, bv) {
                (None, None) => Ordering::Equal,
                // Records without the property come last in either direction.
                (None, Some(_)) => return Ordering::Greater,
                (Some(_), None) => return Ordering::Less,
                (Some(x), Some(y)) => compare_stored(*kind, x, y),
            };
            let ord = if sort.descending { ord.reverse() } else { ord };
            ord.then(a_id.cmp(b_id))
        });
    }
}

fn compare_stored(kind: PropertyType, a: &str, b: &str) -> Ordering {
    match kind {
        PropertyType::Number => {
            let (x, y) = (
                parse_number(a).unwrap_or(f64::NAN),
                parse_number(b).unwrap_or(f64::NAN),
            );
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

fn unknown_property(path: &str, name: &str) -> ValidationError {
    ValidationError::new(
        format!("{path}.propertyName"),
        "PROPERTY_DOESNT_EXIST",
        format!("{path}.propertyName \"{name}\" is not a property of this object type"),
    )
}

impl Filter {
    fn stored(&self, props: &BTreeMap<String, String>) -> Vec<Value> {
        let Some(raw) = props.get(&self.property) else {
            return Vec::new();
        };
        let parts: Vec<&str> = if self.multiple {
            raw.split(';').collect()
        } else {
            vec![raw.as_str()]
        };
        parts
            .into_iter()
            .filter_map(|p| match self.kind {
                PropertyType::Number => parse_number(p).map(Value::Number),
                PropertyType::Enumeration => Some(Value::Exact(p.to_owned())),
                _ => Some(Value::Text(p.to_lowercase())),
            })
            .collect()
    }

    fn matches(&self, props: &BTreeMap<String, String>) -> bool {
        let stored = self.stored(props);
        let any = |pred: &dyn Fn(&Value) -> bool| stored.iter().any(pred);
        match &self.op {
            Op::HasProperty => props.contains_key(&self.property),
            Op::NotHasProperty => !props.contains_key(&self.property),
            Op::Eq(v) => any(&|s| s == v),
            Op::Neq(v) => !any(&|s| s == v),
            Op::Lt(v) => any(&|s| cmp(s, v) == Some(Ordering::Less)),
            Op::Lte(v) => any(&|s| matches!(cmp(s, v), Some(Ordering::Less | Ordering::Equal))),
            Op::Gt(v) => any(&|s| cmp(s, v) == Some(Ordering::Greater)),
            Op::Gte(v) => any(&|s| matches!(cmp(s, v), Some(Ordering::Greater | Ordering::Equal))),
            Op::Between(lo, hi) => any(&|s| {
                matches!(cmp(s, lo), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(cmp(s, hi), Some(Ordering::Less | Ordering::Equal))
            }),
            Op::In(vs) => any(&|s| vs.contains(s)),
            Op::NotIn(vs) => !any(&|s| vs.contains(s)),
            Op::ContainsToken(t) => props
                .get(&self.property)
                .is_some_and(|v| contains_token(v, t)),
            Op::NotContainsToken(t) => !props
                .get(&self.property)
                .is_some_and(|v| contains_token(v, t)),
        }
    }
}

fn cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.partial_cmp(y),
        (Value::Text(x), Value::Text(y)) | (Value::Exact(x), Value::Exact(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Whether one of `value`'s tokens (split on whitespace and `,;`) matches `token`, where `*`
/// matches any run of characters; case-insensitive.
pub fn contains_token(value: &str, token: &str) -> bool {
    let token = token.to_lowercase();
    value
        .to_lowercase()
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|t| !t.is_empty())
        .any(|t| glob(&token, t))
}

fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn parse_filter(
    path: &str,
    input: &FilterInput,
    set: &PropertySet,
) -> Result<Filter, Vec<ValidationError>> {
    let mut problems = Vec::new();
    let name = match input
        .property_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(n) => Some(n.to_owned()),
        None => {
            problems.push(ValidationError::required(&format!("{path}.propertyName")));
            None
        }
    };
    let def = name.as_deref().and_then(|n| {
        let def = set.get(n);
        if def.is_none() {
            problems.push(unknown_property(path, n));
        }
        def
    });
    let operator = input.operator.as_deref().map(str::to_ascii_uppercase);
    if operator.is_none() {
        problems.push(ValidationError::required(&format!("{path}.operator")));
    }
    let (Some(def), Some(operator)) = (def, operator) else {
        return Err(problems);
    };
    let kind = def.property_type;
    let value_of =
        |field: &str, raw: Option<&str>, problems: &mut Vec<ValidationError>| -> Option<Value> {
            let field = format!("{path}.{field}");
            let Some(raw) = raw else {
                problems.push(ValidationError::new(
                    &field,
                    "REQUIRED",
                    format!("{field} is required for {operator}"),
                ));
                return None;
            };
            let parsed = match kind {
                PropertyType::Number => parse_number(raw).map(Value::Number),
                PropertyType::Datetime => parse_datetime(raw)
                    .map(|t| Value::Text(super::property::format_datetime(t).to_lowercase())),
                PropertyType::Date => {
                    parse_date(raw).map(|d| Value::Text(d.format("%Y-%m-%d").to_string()))
                }
                PropertyType::Bool => match raw.to_ascii_lowercase().as_str() {
                    "true" | "false" => Some(Value::Text(raw.to_ascii_lowercase())),
                    _ => None,
                },
                PropertyType::Enumeration => Some(Value::Exact(raw.to_owned())),
                PropertyType::String => Some(Value::Text(raw.to_lowercase())),
            };
            if parsed.is_none() {
                problems.push(ValidationError::new(
                    &field,
                    "INVALID_FILTER_VALUE",
                    format!(
                        "{field} \"{raw}\" is not a valid {} for property {}",
                        kind.as_str(),
                        def.name
                    ),
                ));
            }
            parsed
        };
    let op = match operator.as_str() {
        "EQ" => value_of("value", input.value.as_deref(), &mut problems).map(Op::Eq),
        "NEQ" => value_of("value", input.value.as_deref(), &mut problems).map(Op::Neq),
        "LT" => value_of("value", input.value.as_deref(), &mut problems).map(Op::Lt),
        "LTE" => value_of("value", input.value.as_deref(), &mut problems).map(Op::Lte),
        "GT" => value_of("value", input.value.as_deref(), &mut problems).map(Op::Gt),
        "GTE" => value_of("value", input.value.as_deref(), &mut problems).map(Op::Gte),
        "BETWEEN" => {
            let lo = value_of("value", input.value.as_deref(), &mut problems);
            let hi = value_of("highValue", input.high_value.as_deref(), &mut problems);
            lo.zip(hi).map(|(l, h)| Op::Between(l, h))
        }
        "IN" | "NOT_IN" => match &input.values {
            Some(values) if !values.is_empty() => {
                let parsed: Vec<Option<Value>> = values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| value_of(&format!("values[{i}]"), Some(v), &mut problems))
                    .collect();
                parsed.into_iter().collect::<Option<Vec<_>>>().map(|vs| {
                    if operator == "IN" {
                        Op::In(vs)
                    } else {
                        Op::NotIn(vs)
                    }
                })
            }
            _ => {
                problems.push(ValidationError::new(
                    format!("{path}.values"),
                    "REQUIRED",
                    format!("{path}.values needs at least one value for {operator}"),
                ));
                None
            }
        },
        "HAS_PROPERTY" => Some(Op::HasProperty),
        "NOT_HAS_PROPERTY" => Some(Op::NotHasProperty),
        "CONTAINS_TOKEN" | "NOT_CONTAINS_TOKEN" => match input
            .value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            Some(t) if operator == "CONTAINS_TOKEN" => Some(Op::ContainsToken(t.to_owned())),
            Some(t) => Some(Op::NotContainsToken(t.to_owned())),
            None => {
                problems.push(ValidationError::new(
                    format!("{path}.value"),
                    "REQUIRED",
                    format!("{path}.value is required for {operator}"),
                ));
                None
            }
        },
        other => {
            problems.push(ValidationError::new(
                format!("{path}.operator"),
                "INVALID_OPERATOR",
                format!("{path}.operator \"{other}\" is not one of {OPERATORS}"),
            ));
            None
        }
    };
    match op {
        Some(op) if problems.is_empty() => Ok(Filter {
            property: def.name.clone(),
            kind,
            multiple: def.field_type == "checkbox",
            unique: def.has_unique_value,
            op,
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::object_type::StandardType;
    use crate::crm::property::standard_properties;

    fn set() -> PropertySet {
        PropertySet::new(
            standard_properties(StandardType::Deals),
            "createdate",
            "hs_lastmodifieddate",
        )
    }

    fn contacts() -> PropertySet {
        PropertySet::new(
            standard_properties(StandardType::Contacts),
            "createdate",
            "lastmodifieddate",
        )
    }

    fn filter(property: &str, operator: &str, value: Option<&str>) -> FilterInput {
        FilterInput {
            property_name: Some(property.into()),
            operator: Some(operator.into()),
            value: value.map(str::to_owned),
            ..Default::default()
        }
    }

    fn query(groups: Vec<Vec<FilterInput>>) -> SearchQuery {
        SearchQuery::parse(
            SearchInput {
                filter_groups: groups,
                ..Default::default()
            },
            &set(),
            &["dealname"],
        )
        .unwrap()
    }

    fn record(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn problems(input: SearchInput) -> Vec<ValidationError> {
        match SearchQuery::parse(input, &set(), &[]) {
            Err(DomainError::Invalid(p)) => p,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn five_groups_pass_and_six_are_refused() {
        let groups = |n: usize| {
            (0..n)
                .map(|_| vec![filter("amount", "GT", Some("1"))])
                .collect::<Vec<_>>()
        };
        assert!(SearchQuery::parse(
            SearchInput {
                filter_groups: groups(5),
                ..Default::default()
            },
            &set(),
            &[]
        )
        .is_ok());
        let p = problems(SearchInput {
            filter_groups: groups(6),
            ..Default::default()
        });
        assert_eq!(p[0].field, "filterGroups");
        assert!(
            p[0].message.contains('6') && p[0].message.contains('5'),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn six_filters_in_a_group_pass_and_seven_are_refused() {
        let group = |n: usize| {
            vec![(0..n)
                .map(|_| filter("amount", "GT", Some("1")))
                .collect::<Vec<_>>()]
        };
        assert!(SearchQuery::parse(
            SearchInput {
                filter_groups: group(6),
                ..Default::default()
            },
            &set(),
            &[]
        )
        .is_ok());
        let p = problems(SearchInput {
            filter_groups: group(7),
            ..Default::default()
        });
        assert_eq!(p[0].field, "filterGroups[0].filters");
        assert!(
            p[0].message.contains('7') && p[0].message.contains('6'),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn eighteen_filters_in_all_pass_and_nineteen_are_refused() {
        let spread = |sizes: &[usize]| {
            sizes
                .iter()
                .map(|n| (0..*n).map(|_| filter("amount", "GT", Some("1"))).collect())
                .collect::<Vec<_>>()
        };
        assert!(SearchQuery::parse(
            SearchInput {
                filter_groups: spread(&[6, 6, 6]),
                ..Default::default()
            },
            &set(),
            &[]
        )
        .is_ok());
        let p = problems(SearchInput {
            filter_groups: spread(&[6, 6, 6, 1]),
            ..Default::default()
        });
        assert!(p.iter().any(|e| e.code == "TOO_MANY_FILTERS"
            && e.message.contains("19")
            && e.message.contains("18")));
    }

    #[test]
    fn limit_200_passes_and_201_is_refused() {
        let q = SearchQuery::parse(
            SearchInput {
                limit: Some(200),
                ..Default::default()
            },
            &set(),
            &[],
        )
        .unwrap();
        assert_eq!(q.limit, 200);
        let p = problems(SearchInput {
            limit: Some(201),
            ..Default::default()
        });
        assert_eq!(p[0].field, "limit");
        assert!(p[0].message.contains("201") && p[0].message.contains("200"));
        assert_eq!(
            problems(SearchInput {
                limit: Some(0),
                ..Default::default()
            })[0]
                .field,
            "limit"
        );
    }

    #[test]
    fn paging_ends_at_result_10000() {
        let ok = SearchInput {
            limit: Some(100),
            after: Some("9900".into()),
            ..Default::default()
        };
        assert!(SearchQuery::parse(ok, &set(), &[]).is_ok());
        let past = SearchInput {
            limit: Some(100),
            after: Some("9901".into()),
            ..Default::default()
        };
        let p = problems(past);
        assert_eq!(p[0].code, "PAGING_LIMIT");
        assert!(p[0].message.contains("10000"));
    }

    #[test]
    fn bad_filters_are_each_named() {
        let p = problems(SearchInput {
            filter_groups: vec![vec![
                filter("nope", "EQ", Some("x")),
                filter("amount", "LIKE", Some("1")),
                filter("amount", "EQ", Some("ten")),
                filter("amount", "EQ", None),
                filter("amount", "IN", None),
            ]],
            ..Default::default()
        });
        let fields: Vec<&str> = p.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "filterGroups[0].filters[0].propertyName",
                "filterGroups[0].filters[1].operator",
                "filterGroups[0].filters[2].value",
                "filterGroups[0].filters[3].value",
                "filterGroups[0].filters[4].values",
            ]
        );
    }

    #[test]
    fn comparisons_follow_the_property_type() {
        let big = record(&[
            ("amount", "1000"),
            ("dealname", "Big Deal"),
            ("closedate", "2024-03-01T00:00:00.000Z"),
        ]);
        let small = record(&[("amount", "99.5"), ("dealname", "small deal")]);
        let gt = query(vec![vec![filter("amount", "GT", Some("100"))]]);
        assert!(
            gt.matches(&big) && !gt.matches(&small),
            "numeric, not lexicographic"
        );
        let eq = query(vec![vec![filter("dealname", "EQ", Some("BIG DEAL"))]]);
        assert!(
            eq.matches(&big) && !eq.matches(&small),
            "strings are case-insensitive"
        );
        let before = query(vec![vec![filter("closedate", "LT", Some("1711929600000"))]]);
        assert!(
            before.matches(&big),
            "datetime filters take epoch milliseconds"
        );
        assert!(!before.matches(&small), "a missing value never compares");
        let between = query(vec![vec![FilterInput {
            high_value: Some("1000".into()),
            ..filter("amount", "BETWEEN", Some("500"))
        }]]);
        assert!(
            between.matches(&big) && !between.matches(&small),
            "BETWEEN is inclusive"
        );
        let has = query(vec![vec![filter("closedate", "HAS_PROPERTY", None)]]);
        assert!(has.matches(&big) && !has.matches(&small));
        let not_has = query(vec![vec![filter("closedate", "NOT_HAS_PROPERTY", None)]]);
        assert!(!not_has.matches(&big) && not_has.matches(&small));
        let neq = query(vec![vec![filter(
            "closedate",
            "NEQ",
            Some("2024-03-01T00:00:00Z"),
        )]]);
        assert!(
            !neq.matches(&big) && neq.matches(&small),
            "NEQ includes records without the value"
        );
    }

    #[test]
    fn groups_are_ored_and_filters_anded() {
        let q = query(vec![
            vec![
                filter("amount", "GT", Some("500")),
                filter("dealname", "CONTAINS_TOKEN", Some("big")),
            ],
            vec![filter("dealname", "EQ", Some("tiny"))],
        ]);
        assert!(q.matches(&record(&[("amount", "1000"), ("dealname", "big one")])));
        assert!(!q.matches(&record(&[("amount", "1000"), ("dealname", "huge one")])));
        assert!(q.matches(&record(&[("dealname", "Tiny")])));
    }

    #[test]
    fn in_and_not_in_and_enumerations_compare_exactly() {
        let q = query(vec![vec![FilterInput {
            values: Some(vec!["closedwon".into(), "closedlost".into()]),
            ..filter("dealstage", "IN", None)
        }]]);
        assert!(q.matches(&record(&[("dealstage", "closedwon")])));
        assert!(!q.matches(&record(&[("dealstage", "CLOSEDWON")])));
        let n = query(vec![vec![FilterInput {
            values: Some(vec!["closedwon".into()]),
            ..filter("dealstage", "NOT_IN", None)
        }]]);
        assert!(n.matches(&record(&[("dealstage", "contractsent")])) && n.matches(&record(&[])));
    }

    #[test]
    fn tokens_match_whole_words_with_wildcards() {
        assert!(contains_token("Bilbo Baggins", "baggins"));
        assert!(!contains_token("Bilbo Baggins", "bag"));
        assert!(contains_token("bilbo@shire.com", "*@shire.com"));
        assert!(contains_token("Bilbo Baggins", "bag*"));
        assert!(!contains_token("Bilbo Baggins", "*x*"));
    }

    #[test]
    fn email_and_id_filters_give_index_keys_and_others_do_not() {
        let by_email = SearchQuery::parse(
            SearchInput {
                filter_groups: vec![vec![filter("email", "EQ", Some("Ada@Example.com"))]],
                ..Default::default()
            },
            &contacts(),
            &[],
        )
        .unwrap();
        assert_eq!(
            by_email.keys(),
            Some(vec![Key::Unique(UniqueValue::new(
                "email",
                "ada@example.com"
            ))])
        );
        let by_id = query(vec![vec![FilterInput {
            values: Some(vec!["5".into(), "7".into()]),
            ..filter("hs_object_id", "IN", None)
        }]]);
        assert_eq!(by_id.keys(), Some(vec![Key::Id(5), Key::Id(7)]));
        let mixed = query(vec![
            vec![filter("hs_object_id", "EQ", Some("5"))],
            vec![filter("amount", "GT", Some("1"))],
        ]);
        assert_eq!(mixed.keys(), None, "one unpinned group needs a scan");
        assert_eq!(query(vec![]).keys(), None);
    }

    #[test]
    fn sort_puts_missing_values_last_and_breaks_ties_by_id() {
        let q = SearchQuery::parse(
            SearchInput {
                sorts: vec![SortInput {
                    property_name: "-amount".into(),
                    direction: None,
                }],
                ..Default::default()
            },
            &set(),
            &[],
        )
        .unwrap();
        let (a, b, c, d) = (
            record(&[("amount", "9")]),
            record(&[("amount", "10")]),
            record(&[]),
            record(&[("amount", "10")]),
        );
        let mut rows = vec![(1, &a), (2, &b), (3, &c), (4, &d)];
        q.sort(&mut rows);
        assert_eq!(
            rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            vec![2, 4, 1, 3]
        );
    }

    #[test]
    fn free_text_query_looks_in_searchable_properties() {
        let q = SearchQuery::parse(
            SearchInput {
                query: Some("Acme".into()),
                ..Default::default()
            },
            &set(),
            &["dealname"],
        )
        .unwrap();
        assert!(q.matches(&record(&[("dealname", "The ACME renewal")])));
        assert!(!q.matches(&record(&[("description", "acme")])));
    }
}
