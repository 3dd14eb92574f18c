//! The rendering engine of app timeline events (issue 16, item 3; SPEC.md "Rendering"): the
//! header and detail templates of a v3 event template (and later a v4 event type) are
//! Handlebars over Markdown. A render runs three stages:
//!
//! 1. **Handlebars** with the event as data: every token by name, `timestamp` (epoch ms) and,
//!    in the detail template only, `extraData` (any JSON). Strict mode is off: a missing token
//!    or `extraData` path renders empty. A token whose name has dots (`pet.name`) is reachable
//!    as `{{pet.name}}` unless another token already uses its first segment.
//! 2. **Markdown** (CommonMark with tables and strikethrough) parsed by pulldown-cmark.
//! 3. **HTML that is safe by construction** ([`html`]): a writer of our own turns the parse into
//!    HTML from fixed tags, escapes everything that came from the input, and writes raw HTML,
//!    from the template or a value, as text; links and images keep only `http`, `https` and
//!    `mailto` URLs. No sanitizer runs afterwards: [`html`]'s module doc gives the argument, and
//!    its tests check the output equals what ammonia, configured with the same elements,
//!    attributes and schemes, made of pulldown-cmark's HTML (which cost most of a render).
//!
//! **Values are text, never markup.** Handlebars' escaping is on, with an escape function that
//! turns a value into Markdown text that renders as exactly itself ([`html::escape_value`]):
//! HTML's special characters become character references and all other ASCII punctuation is
//! backslash-escaped. So a token value of `<script>` shows as `<script>`, and `**x**` or
//! `[a](javascript:…)` as those characters, not bold text or a link. The triple-stash
//! `{{{value}}}` skips that escaping: its Markdown is honoured, but raw HTML in it is still
//! text and links still pass the URL check (stage 3). The escaping has no effect
//! inside a Markdown code span, where backslashes show as written.
//!
//! **Helpers.** Only what HubSpot documents for timeline templates is available: the block
//! helpers `#each`, `#if` (with `else` and `else if`), `#unless`, `#with`, and `#formatDate`
//! ([`format_date`]). Handlebars-rust's other built-ins (`lookup`, `log`, `raw`, `eq`, `and`,
//! `len`, …) are unregistered; HubSpot does not document them. A template that calls any other
//! helper, uses a subexpression, a partial or a decorator, or does not parse, is refused by
//! [`Templates::compile`] with a [`ValidationError`] naming `headerTemplate` or
//! `detailTemplate` and the line and column.
//!
//! **HubSpot's forms.** `{{extraData[1]}}` (HubSpot's documented index form, which Handlebars
//! does not parse) is rewritten to `extraData.[1]` before compiling. HubSpot's renderer does not
//! remove the line of a standalone block tag (`{{#each …}}` alone on its line), as its PetSpot
//! example shows (each item becomes its own paragraph); Handlebars-rust would, so a marker is
//! put after every tag that ends a line (unless it ends in `~}}`, which asks for the
//! whitespace after it to go) and removed from the output before stage 2.
//!
//! The seed names no limit on a template's length; the server's body limit bounds the text.
//! Nesting is bounded by [`MAX_NESTING`], because rendering recurses once per level.
//!
//! Templates are compiled once per template version ([`Templates`] is what a store keeps beside
//! the template), never per render. The server's `…/render` and `…/detail` endpoints and the
//! record timeline call [`Templates::render_header`] and [`Templates::render_detail`].

pub mod format_date;
pub mod html;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono_tz::Tz;
use handlebars::template::{HelperTemplate, Parameter, TemplateElement};
use handlebars::{Context, Handlebars, RenderContext, Renderable, StringOutput, Template};
use serde_json::{Map, Value};

use crate::error::{DomainError, ValidationError};

/// The block helpers a template may call (HubSpot's timeline rendering docs).
pub const ALLOWED_BLOCK_HELPERS: &[&str] =
    &["each", "if", "unless", "with", format_date::HELPER_NAME];

/// Marks the end of a tag that ends its line so that Handlebars keeps that line's newline (see
/// the module doc). A private-use character; removed from every render.
const LINE_KEEPER: char = '\u{E000}';

/// At most this many blocks (`#if`, `#each`, …, each `else if` counting as one more) or
/// parentheses may be open at once. Not HubSpot's number: rendering recurses once per level and
/// a debug build overflows a 2 MiB thread stack somewhere past 300 levels, so a hostile template
/// must be refused when saved; real templates nest a handful of levels.
pub const MAX_NESTING: usize = 100;

/// The data name of the event time.
pub const TIMESTAMP_KEY: &str = "timestamp";
/// The data name of the event's extra data (detail template only).
pub const EXTRA_DATA_KEY: &str = "extraData";

static REGISTRY: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut r = Handlebars::new();
    r.set_strict_mode(false);
    for name in [
        "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte", "and", "or", "not", "len",
    ] {
        r.unregister_helper(name);
    }
    r.register_helper(format_date::HELPER_NAME, Box::new(format_date::FormatDate));
    r.register_escape_fn(html::escape_value);
    r
});

/// Which of an event template's two templates something concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateField {
    /// `headerTemplate`: the one-line summary on the timeline.
    Header,
    /// `detailTemplate`: the expanded view; the only one that sees `extraData`.
    Detail,
}

impl TemplateField {
    /// The field's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            TemplateField::Header => "headerTemplate",
            TemplateField::Detail => "detailTemplate",
        }
    }
}

/// One template, parsed and checked; rendering it never parses again.
#[derive(Debug, Clone)]
pub struct CompiledTemplate {
    field: TemplateField,
    template: Template,
}

/// Where the preparation inserted a character, so error positions point into the caller's text.
#[derive(Debug, Default)]
struct Insertions(Vec<(usize, usize)>);

impl Insertions {
    /// Maps a (line, column) of the prepared text back to the caller's text.
    fn original(&self, line: usize, col: usize) -> (usize, usize) {
        let before = self
            .0
            .iter()
            .filter(|(l, c)| *l == line && *c < col)
            .count();
        (line, col - before)
    }
}

/// Rewrites HubSpot's forms into Handlebars-rust's (module doc): `name[1]` inside a tag becomes
/// `name.[1]`, and a tag that ends its line gets the [`LINE_KEEPER`] after it.
fn prepare(source: &str) -> (String, Insertions) {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len() + 16);
    let mut ins = Insertions::default();
    let (mut line, mut col) = (1usize, 1usize);
    let mut inside = false;
    let mut i = 0;
    let push = |c: char, out: &mut String, line: &mut usize, col: &mut usize| {
        out.push(c);
        if c == '\n' {
            *line += 1;
            *col = 1;
        } else {
            *col += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if !inside {
            let escaped = i > 0 && chars[i - 1] == '\\';
            if c == '{' && chars.get(i + 1) == Some(&'{') && !escaped {
                inside = true;
            }
            push(c, &mut out, &mut line, &mut col);
            i += 1;
            continue;
        }
        if c == '}' && chars.get(i + 1) == Some(&'}') {
            // `~}}` asks for the following whitespace to go; leave it to Handlebars.
            let trims = i > 0 && chars[i - 1] == '~';
            let mut j = i;
            while chars.get(j) == Some(&'}') {
                push('}', &mut out, &mut line, &mut col);
                j += 1;
            }
            inside = false;
            let rest_of_line = chars[j..]
                .iter()
                .take_while(|c| **c != '\n')
                .all(|c| *c == ' ' || *c == '\t' || *c == '\r');
            if rest_of_line && !trims {
                ins.0.push((line, col));
                push(LINE_KEEPER, &mut out, &mut line, &mut col);
            }
            i = j;
            continue;
        }
        if c == '[' && i > 0 && is_ident_char(chars[i - 1]) {
            let digits = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if digits > 0 && chars.get(i + 1 + digits) == Some(&']') {
                ins.0.push((line, col));
                push('.', &mut out, &mut line, &mut col);
            }
        }
        push(c, &mut out, &mut line, &mut col);
        i += 1;
    }
    (out, ins)
}

/// The position (line, column) where nesting first exceeds [`MAX_NESTING`], scanning the text
/// without parsing it (a parse of a hostile depth is itself deep).
fn too_deep(source: &str) -> Option<(usize, usize)> {
    let chars: Vec<char> = source.chars().collect();
    // Per open block: 1 + the `else if` links of its chain.
    let mut blocks: Vec<usize> = Vec::new();
    let (mut line, mut col) = (1usize, 1usize);
    let mut i = 0;
    let mut parens = 0usize;
    let mut inside = false;
    while i < chars.len() {
        let c = chars[i];
        if !inside && c == '{' && chars.get(i + 1) == Some(&'{') && (i == 0 || chars[i - 1] != '\\')
        {
            inside = true;
            parens = 0;
            let mut j = i + 2;
            while matches!(chars.get(j), Some('{') | Some('~')) {
                j += 1;
            }
            let rest: String = chars[j..chars.len().min(j + 6)].iter().collect();
            match chars.get(j) {
                Some('#') => blocks.push(1),
                Some('^') if !matches!(chars.get(j + 1), Some('}') | Some('~')) => blocks.push(1),
                Some('/') => {
                    blocks.pop();
                }
                _ if rest.starts_with("else") && rest[4..].starts_with(char::is_whitespace) => {
                    if let Some(links) = blocks.last_mut() {
                        *links += 1;
                    }
                }
                _ => {}
            }
            if blocks.iter().sum::<usize>() > MAX_NESTING {
                return Some((line, col));
            }
        } else if inside && c == '}' && chars.get(i + 1) == Some(&'}') {
            inside = false;
        } else if inside && c == '(' {
            parens += 1;
            if parens > MAX_NESTING {
                return Some((line, col));
            }
        } else if inside && c == ')' {
            parens = parens.saturating_sub(1);
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
        i += 1;
    }
    None
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '$' || c == ']'
}

impl CompiledTemplate {
    /// Parses and checks `source` as the template in `field`; every problem found is returned.
    pub fn compile(field: TemplateField, source: &str) -> Result<Self, Vec<ValidationError>> {
        if let Some((line, col)) = too_deep(source) {
            return Err(vec![ValidationError::new(
                field.name(),
                "TOO_DEEP",
                format!(
                    "{} nests more than {MAX_NESTING} blocks or parentheses at line {line}, column {col}",
                    field.name()
                ),
            )]);
        }
        let (prepared, ins) = prepare(source);
        let template = Template::compile(&prepared).map_err(|e| {
            let (line, col) = e.pos().map_or((1, 1), |(l, c)| ins.original(l, c));
            vec![ValidationError::new(
                field.name(),
                "INVALID_TEMPLATE",
                format!(
                    "{} does not parse at line {line}, column {col}: {}",
                    field.name(),
                    e.reason()
                ),
            )]
        })?;
        let mut problems = Vec::new();
        check_elements(&template, field, &ins, &mut problems);
        if problems.is_empty() {
            Ok(CompiledTemplate { field, template })
        } else {
            Err(problems)
        }
    }

    /// Which field this template is.
    pub fn field(&self) -> TemplateField {
        self.field
    }

    /// Renders the template for `event` to HTML that is safe to embed ([`html`]).
    pub fn render(&self, event: &RenderInput<'_>) -> String {
        let data = event.data(self.field);
        let ctx = Context::from(Value::Object(data));
        let mut rc = RenderContext::new(None);
        let mut out = StringOutput::new();
        // Non-strict mode with only the checked helpers leaves no error a valid template can
        // reach at render time except output failures of a string buffer; render empty then.
        if self
            .template
            .render(&REGISTRY, &ctx, &mut rc, &mut out)
            .is_err()
        {
            return String::new();
        }
        let Ok(mut markdown) = out.into_string() else {
            return String::new();
        };
        markdown.retain(|c| c != LINE_KEEPER);
        html::markdown_to_safe_html(&markdown)
    }
}

fn problem(
    field: TemplateField,
    ins: &Insertions,
    pos: Option<(usize, usize)>,
    what: String,
) -> ValidationError {
    let (line, col) = pos.map_or((1, 1), |(l, c)| ins.original(l, c));
    ValidationError::new(
        field.name(),
        "INVALID_TEMPLATE",
        format!("{} at line {line}, column {col}: {what}", field.name()),
    )
}

fn check_elements(
    t: &Template,
    field: TemplateField,
    ins: &Insertions,
    out: &mut Vec<ValidationError>,
) {
    for (i, el) in t.elements.iter().enumerate() {
        let pos = t.mapping.get(i).map(|m| (m.0, m.1));
        match el {
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => {}
            TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
                check_expression(h, field, ins, pos, out);
            }
            TemplateElement::HelperBlock(h) => check_block(h, field, ins, pos, out),
            TemplateElement::DecoratorExpression(_) | TemplateElement::DecoratorBlock(_) => {
                out.push(problem(
                    field,
                    ins,
                    pos,
                    "decorators are not supported".into(),
                ));
            }
            TemplateElement::PartialExpression(_) | TemplateElement::PartialBlock(_) => {
                out.push(problem(
                    field,
                    ins,
                    pos,
                    "partials are not supported".into(),
                ));
            }
            _ => out.push(problem(
                field,
                ins,
                pos,
                "this construct is not supported".into(),
            )),
        }
    }
}

fn check_params(
    h: &HelperTemplate,
    field: TemplateField,
    ins: &Insertions,
    pos: Option<(usize, usize)>,
    out: &mut Vec<ValidationError>,
) {
    let subexpression = h
        .params
        .iter()
        .chain(h.hash.values())
        .any(|p| matches!(p, Parameter::Subexpression(_)));
    if subexpression {
        out.push(problem(
            field,
            ins,
            pos,
            "subexpressions call helpers, and HubSpot offers none usable inline".into(),
        ));
    }
}

fn check_expression(
    h: &HelperTemplate,
    field: TemplateField,
    ins: &Insertions,
    pos: Option<(usize, usize)>,
    out: &mut Vec<ValidationError>,
) {
    let name = h.name.as_name().unwrap_or("");
    if !h.params.is_empty() || !h.hash.is_empty() || ALLOWED_BLOCK_HELPERS.contains(&name) {
        let what = if ALLOWED_BLOCK_HELPERS.contains(&name) {
            format!("{name} is a block helper; write {{{{#{name} …}}}}…{{{{/{name}}}}}")
        } else {
            format!(
                "{name:?} is not a helper HubSpot offers (available: {})",
                ALLOWED_BLOCK_HELPERS.join(", ")
            )
        };
        out.push(problem(field, ins, pos, what));
    }
    check_params(h, field, ins, pos, out);
}

fn check_block(
    h: &HelperTemplate,
    field: TemplateField,
    ins: &Insertions,
    pos: Option<(usize, usize)>,
    out: &mut Vec<ValidationError>,
) {
    let name = h.name.as_name().unwrap_or("");
    if !ALLOWED_BLOCK_HELPERS.contains(&name) {
        out.push(problem(
            field,
            ins,
            pos,
            format!(
                "#{name} is not a helper HubSpot offers (available: {})",
                ALLOWED_BLOCK_HELPERS.join(", ")
            ),
        ));
    } else if h.params.len() != 1 {
        out.push(problem(
            field,
            ins,
            pos,
            format!("#{name} takes exactly one value, got {}", h.params.len()),
        ));
    } else if name == format_date::HELPER_NAME {
        for (key, value) in &h.hash {
            let ok = key == "format"
                && matches!(value, Parameter::Literal(Value::String(s)) if format_date::DateFormat::parse(s).is_some());
            if !ok {
                out.push(problem(
                    field,
                    ins,
                    pos,
                    format!(
                        "#formatDate accepts only format=\"{}\" (or no format), not {key}={}",
                        format_date::SUPPORTED_FORMATS.join("\"|\""),
                        param_text(value)
                    ),
                ));
            }
        }
    } else if let Some(key) = h.hash.keys().next() {
        out.push(problem(field, ins, pos, format!("#{name} takes no {key}=")));
    }
    check_params(h, field, ins, pos, out);
    if let Some(t) = &h.template {
        check_elements(t, field, ins, out);
    }
    if let Some(t) = &h.inverse {
        check_elements(t, field, ins, out);
    }
}

fn param_text(p: &Parameter) -> String {
    match p {
        Parameter::Literal(v) => v.to_string(),
        other => other.as_name().unwrap_or("?").to_owned(),
    }
}

/// An event template's header and detail templates, compiled once per template version.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    header: Option<CompiledTemplate>,
    detail: Option<CompiledTemplate>,
}

impl Templates {
    /// Compiles both templates (either may be absent: a template can be defined step by step),
    /// reporting every problem of both.
    pub fn compile(header: Option<&str>, detail: Option<&str>) -> Result<Self, DomainError> {
        let mut problems = Vec::new();
        let mut one = |field, source: Option<&str>| {
            source.and_then(|s| match CompiledTemplate::compile(field, s) {
                Ok(t) => Some(t),
                Err(mut e) => {
                    problems.append(&mut e);
                    None
                }
            })
        };
        let header = one(TemplateField::Header, header);
        let detail = one(TemplateField::Detail, detail);
        if problems.is_empty() {
            Ok(Templates { header, detail })
        } else {
            Err(DomainError::Invalid(problems))
        }
    }

    /// The header as HTML; empty when the template has none.
    pub fn render_header(&self, event: &RenderInput<'_>) -> String {
        self.header
            .as_ref()
            .map(|t| t.render(event))
            .unwrap_or_default()
    }

    /// The detail as HTML; empty when the template has none.
    pub fn render_detail(&self, event: &RenderInput<'_>) -> String {
        self.detail
            .as_ref()
            .map(|t| t.render(event))
            .unwrap_or_default()
    }
}

/// The time zone an account's dates render in (SPEC.md), from its IANA name such as
/// `Europe/Berlin`; `field` names where the name came from.
pub fn parse_time_zone(field: &str, name: &str) -> Result<Tz, ValidationError> {
    name.parse::<Tz>().map_err(|_| {
        ValidationError::new(
            field,
            "INVALID_TIME_ZONE",
            format!("{field} {name:?} is not an IANA time zone name such as \"Europe/Berlin\" or \"UTC\""),
        )
    })
}

/// What a render sees of one event.
#[derive(Debug, Clone)]
pub struct RenderInput<'a> {
    /// Token values by token name (HubSpot echoes every token value as a string).
    pub tokens: &'a BTreeMap<String, String>,
    /// The event time, epoch milliseconds.
    pub timestamp_ms: i64,
    /// The event's `extraData`, if any; only the detail template sees it.
    pub extra_data: Option<&'a Value>,
    /// The account's time zone, for `#formatDate` (SPEC.md: default UTC).
    pub time_zone: Tz,
}

impl RenderInput<'_> {
    fn data(&self, field: TemplateField) -> Map<String, Value> {
        let mut data = Map::new();
        for (name, value) in self.tokens {
            data.insert(name.clone(), Value::String(value.clone()));
        }
        // `pet.name` is also reachable as a path when nothing else owns `pet`.
        for (name, value) in self.tokens {
            if name.contains('.') {
                insert_path(&mut data, name, value);
            }
        }
        data.insert(TIMESTAMP_KEY.to_owned(), Value::from(self.timestamp_ms));
        if field == TemplateField::Detail {
            if let Some(extra) = self.extra_data {
                data.insert(EXTRA_DATA_KEY.to_owned(), extra.clone());
            }
        }
        data.insert(
            format_date::TIME_ZONE_KEY.to_owned(),
            Value::String(self.time_zone.name().to_owned()),
        );
        data
    }
}

fn insert_path(data: &mut Map<String, Value>, dotted: &str, value: &str) {
    let mut segments: Vec<&str> = dotted.split('.').collect();
    let Some(last) = segments.pop() else { return };
    let mut here = data;
    for seg in segments {
        let entry = here
            .entry(seg.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        match entry {
            Value::Object(map) => here = map,
            _ => return,
        }
    }
    here.entry(last.to_owned())
        .or_insert_with(|| Value::String(value.to_owned()));
}

#[cfg(test)]
mod tests;
