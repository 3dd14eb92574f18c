//! The second and third stages of a render: Markdown to HTML that is safe by construction.
//!
//! HubSpot's legacy rendering page says raw HTML is not allowed and is stripped; here raw HTML
//! in the Markdown (from the template text, or from a value placed with `{{{…}}}`) is turned
//! into text, so it shows as written and never becomes markup. Only the elements Markdown itself
//! produces are written, links only with `http`, `https` or `mailto` (relative links are
//! dropped), and no attribute beyond `href`, `title`, `src`, `alt`, a list's `start` and the
//! link's `rel`: no `on…` handler, no `style`, no script in any form.
//!
//! ## Why no sanitizer runs
//!
//! pulldown-cmark parses the Markdown into events and `Writer` (here, not pulldown-cmark's
//! own HTML writer) turns them into HTML. The output is safe because of what the writer can
//! write, whatever the events hold:
//! - **Markup comes only from fixed strings.** Every tag the writer writes is a literal in this
//!   file, one of `p`, `h1`–`h6`, `blockquote`, `pre`, `code`, `ol`, `ul`, `li`, `table`,
//!   `thead`, `tbody`, `tr`, `th`, `td`, `em`, `strong`, `del`, `a`, `img`, `br`, `hr`. Raw HTML
//!   events (`Html`, `InlineHtml`, an HTML block) are written as text, never as markup.
//! - **Everything from the input is escaped.** Text, code and an image's alt text pass through
//!   `escape`, which writes `&`, `<` and `>` as character references (and `"` inside an
//!   attribute value, which the writer always double-quotes), so no input can open a tag, close
//!   one or leave an attribute value. A list's `start` is a number.
//! - **URLs are checked.** `href` and `src` are written only when the URL (percent-encoded as
//!   pulldown-cmark's writer does) parses as an absolute URL with a scheme in
//!   [`ALLOWED_URL_SCHEMES`] (WHATWG parsing, the `url` crate, as browsers resolve it: leading
//!   spaces and control characters, tabs and newlines inside, and case do not hide a scheme);
//!   otherwise the attribute is left out and the link or image stays without one.
//! - Every link gets `rel="noopener noreferrer nofollow"`. A link inside a link (which
//!   pulldown-cmark makes of an autolink in a reference link's text) is written as its text.
//!
//! So no script element, no `on…` attribute and no `javascript:` (or `data:`, `vbscript:`) URL
//! can appear; the property tests in `render/tests.rs` check that for hostile values in every
//! place a template can put one.
//!
//! This is what the sanitizer (ammonia, configured with exactly these elements, attributes and
//! schemes) made of pulldown-cmark's own HTML before, and ammonia's HTML parse and serialization
//! were most of a render's time. The writer writes the same, byte for byte, which a test checks
//! against ammonia for generated Markdown (`writer_matches_ammonia_on_generated_markdown`). The
//! one difference is a link inside a link, which ammonia's HTML parser split into two links,
//! leaving part of the outer link's text outside both.

use pulldown_cmark::{Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};
use url::Url;

/// The Markdown the templates may use: CommonMark with tables and strikethrough.
const OPTIONS: Options = Options::ENABLE_TABLES.union(Options::ENABLE_STRIKETHROUGH);

/// The schemes a link or image may use (issue 16, item 3).
pub const ALLOWED_URL_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// The `rel` of every link: the target gets no handle on the page, no referrer and no ranking.
pub const LINK_REL: &str = "noopener noreferrer nofollow";

/// Block-level tags after which a newline is written. HubSpot's rendered HTML has no
/// whitespace between blocks (its `EventDetail` example), so those newlines are dropped.
const BLOCK_BOUNDARIES: &[&str] = &[
    "</p>",
    "</h1>",
    "</h2>",
    "</h3>",
    "</h4>",
    "</h5>",
    "</h6>",
    "<ul>",
    "</ul>",
    "<ol>",
    "</ol>",
    "<li>",
    "</li>",
    "<blockquote>",
    "</blockquote>",
    "</pre>",
    "<hr>",
    "<table>",
    "</table>",
    "<thead>",
    "</thead>",
    "<tbody>",
    "</tbody>",
    "<tr>",
    "</tr>",
    "</th>",
    "</td>",
];

/// Markdown → HTML that is safe to embed (module doc). Raw HTML becomes text.
pub fn markdown_to_safe_html(markdown: &str) -> String {
    let mut writer = Writer {
        out: String::with_capacity(markdown.len() * 3 / 2),
        end_newline: true,
        table_head: false,
        links: 0,
    };
    writer.run(&mut Parser::new_ext(markdown, OPTIONS));
    let mut html = writer.out;
    // A CR that ended a text (`escape`): an HTML parser reads CR LF and a lone CR as LF.
    if html.contains('\r') {
        html = html.replace("\r\n", "\n").replace('\r', "\n");
    }
    compact(&html)
}

/// Writes the events of a Markdown parse as HTML: the elements, attributes and newlines of
/// pulldown-cmark's HTML writer, in the form an HTML serializer gives them (`<br>`, `<hr>`,
/// `<img …>`), with what the module doc says is never written left out.
struct Writer {
    out: String,
    /// Whether the output ends in a newline (so a block starts without writing one).
    end_newline: bool,
    /// Inside a table's head (cells are `th`), else its body (`td`).
    table_head: bool,
    /// How many links are open. pulldown-cmark nests an autolink in a reference link's text
    /// (`[a <https://b.test>][r]`); HTML has no link inside a link, so only the outer one is
    /// written and the inner one's text is part of it.
    links: usize,
}

impl Writer {
    fn run<'a>(&mut self, events: &mut impl Iterator<Item = Event<'a>>) {
        while let Some(event) = events.next() {
            match event {
                Event::Start(tag) => self.start(tag, events),
                Event::End(tag) => self.end(tag),
                // Raw HTML is text (module doc).
                Event::Text(text)
                | Event::Html(text)
                | Event::InlineHtml(text)
                | Event::InlineMath(text)
                | Event::DisplayMath(text) => self.text(&text),
                Event::Code(text) => {
                    self.tag("<code>");
                    escape(&mut self.out, &text, false);
                    self.tag("</code>");
                }
                Event::SoftBreak => self.tag("\n"),
                Event::HardBreak => self.tag("<br>\n"),
                Event::Rule => self.block("<hr>\n"),
                // Not produced with `OPTIONS`; nothing of them is markup here.
                Event::FootnoteReference(_) | Event::TaskListMarker(_) => {}
            }
        }
    }

    /// A fixed piece of markup.
    fn tag(&mut self, markup: &'static str) {
        self.out.push_str(markup);
        self.end_newline = markup.ends_with('\n');
    }

    /// A block's start tag, on a line of its own.
    fn block(&mut self, markup: &'static str) {
        if !self.end_newline {
            self.out.push('\n');
        }
        self.tag(markup);
    }

    fn text(&mut self, text: &str) {
        escape(&mut self.out, text, false);
        self.end_newline = text.ends_with('\n');
    }

    fn start<'a>(&mut self, tag: Tag<'a>, events: &mut impl Iterator<Item = Event<'a>>) {
        match tag {
            Tag::Paragraph | Tag::HtmlBlock => self.block("<p>"),
            Tag::Heading { level, .. } => self.block(match level {
                HeadingLevel::H1 => "<h1>",
                HeadingLevel::H2 => "<h2>",
                HeadingLevel::H3 => "<h3>",
                HeadingLevel::H4 => "<h4>",
                HeadingLevel::H5 => "<h5>",
                HeadingLevel::H6 => "<h6>",
            }),
            Tag::BlockQuote(_) => self.block("<blockquote>\n"),
            // A fenced block's language is not written (no `class`).
            Tag::CodeBlock(_) => self.block("<pre><code>"),
            Tag::List(Some(1)) => self.block("<ol>\n"),
            Tag::List(Some(start)) => {
                self.block("<ol start=\"");
                self.out.push_str(&start.to_string());
                self.tag("\">\n");
            }
            Tag::List(None) => self.block("<ul>\n"),
            Tag::Item => self.block("<li>"),
            Tag::Table(_) => self.tag("<table>"),
            Tag::TableHead => {
                self.table_head = true;
                self.tag("<thead><tr>");
            }
            Tag::TableRow => self.tag("<tr>"),
            Tag::TableCell => self.tag(if self.table_head { "<th>" } else { "<td>" }),
            Tag::Emphasis => self.tag("<em>"),
            Tag::Strong => self.tag("<strong>"),
            Tag::Strikethrough => self.tag("<del>"),
            Tag::Link { .. } if self.links > 0 => self.links += 1,
            Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            } => {
                self.links = 1;
                self.out.push_str("<a");
                let mailto = if link_type == LinkType::Email {
                    "mailto:"
                } else {
                    ""
                };
                self.url_attribute(" href=\"", mailto, &dest_url);
                self.title_attribute(&title);
                self.out.push_str(" rel=\"");
                self.out.push_str(LINK_REL);
                self.tag("\">");
            }
            Tag::Image {
                dest_url, title, ..
            } => {
                self.out.push_str("<img");
                self.url_attribute(" src=\"", "", &dest_url);
                self.out.push_str(" alt=\"");
                self.alt_text(events);
                self.out.push('"');
                self.title_attribute(&title);
                self.tag(">");
            }
            // Not produced with `OPTIONS`; their content is written as that of any element.
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::Superscript
            | Tag::Subscript
            | Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::HtmlBlock => self.tag("</p>\n"),
            TagEnd::Heading(level) => self.tag(match level {
                HeadingLevel::H1 => "</h1>\n",
                HeadingLevel::H2 => "</h2>\n",
                HeadingLevel::H3 => "</h3>\n",
                HeadingLevel::H4 => "</h4>\n",
                HeadingLevel::H5 => "</h5>\n",
                HeadingLevel::H6 => "</h6>\n",
            }),
            TagEnd::BlockQuote(_) => self.tag("</blockquote>\n"),
            TagEnd::CodeBlock => self.tag("</code></pre>\n"),
            TagEnd::List(true) => self.tag("</ol>\n"),
            TagEnd::List(false) => self.tag("</ul>\n"),
            TagEnd::Item => self.tag("</li>\n"),
            TagEnd::Table => self.tag("</tbody></table>\n"),
            TagEnd::TableHead => {
                self.table_head = false;
                self.tag("</tr></thead><tbody>\n");
            }
            TagEnd::TableRow => self.tag("</tr>\n"),
            TagEnd::TableCell => self.tag(if self.table_head { "</th>" } else { "</td>" }),
            TagEnd::Emphasis => self.tag("</em>"),
            TagEnd::Strong => self.tag("</strong>"),
            TagEnd::Strikethrough => self.tag("</del>"),
            TagEnd::Link => {
                self.links = self.links.saturating_sub(1);
                if self.links == 0 {
                    self.tag("</a>");
                }
            }
            // The image's end is read by `alt_text`; the rest are not produced with `OPTIONS`.
            TagEnd::Image
            | TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::MetadataBlock(_) => {}
        }
    }

    /// ` href="…"` or ` src="…"` (`open`), when `prefix` + `url` is an allowed URL; nothing
    /// otherwise.
    fn url_attribute(&mut self, open: &str, prefix: &str, url: &str) {
        let mut value = String::with_capacity(prefix.len() + url.len() + 8);
        value.push_str(prefix);
        percent_encode(&mut value, url);
        if allowed_url(&value) {
            self.out.push_str(open);
            escape(&mut self.out, &value, true);
            self.out.push('"');
        }
    }

    fn title_attribute(&mut self, title: &str) {
        if !title.is_empty() {
            self.out.push_str(" title=\"");
            escape(&mut self.out, title, true);
            self.out.push('"');
        }
    }

    /// An image's description up to its end, as the text of its `alt` (nested emphasis or
    /// links contribute their text; line breaks become spaces).
    fn alt_text<'a>(&mut self, events: &mut impl Iterator<Item = Event<'a>>) {
        let mut depth = 0usize;
        for event in events.by_ref() {
            match event {
                Event::Start(_) => depth += 1,
                Event::End(_) if depth == 0 => break,
                Event::End(_) => depth -= 1,
                Event::Text(text)
                | Event::Html(text)
                | Event::InlineHtml(text)
                | Event::Code(text) => {
                    escape(&mut self.out, &text, true);
                }
                Event::InlineMath(text) => {
                    self.out.push('$');
                    escape(&mut self.out, &text, true);
                    self.out.push('$');
                }
                Event::DisplayMath(text) => {
                    self.out.push_str("$$");
                    escape(&mut self.out, &text, true);
                    self.out.push_str("$$");
                }
                Event::SoftBreak | Event::HardBreak | Event::Rule => self.out.push(' '),
                Event::FootnoteReference(_) | Event::TaskListMarker(_) => {}
            }
        }
    }
}

/// Whether `url` may be a link's or an image's target: an absolute URL whose scheme is in
/// [`ALLOWED_URL_SCHEMES`]. A relative URL, or one that does not parse, is not.
fn allowed_url(url: &str) -> bool {
    Url::parse(url).is_ok_and(|u| ALLOWED_URL_SCHEMES.contains(&u.scheme()))
}

/// Appends `url` percent-encoded as pulldown-cmark's HTML writer writes a link target: bytes
/// outside the set it leaves as they are become `%XX`; `&` and `'` stay (the attribute escaping
/// writes `&` as `&amp;`).
fn percent_encode(out: &mut String, url: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut plain = 0;
    for (i, b) in url.bytes().enumerate() {
        let keep = matches!(b,
            b'!' | b'#'..=b'&' | b'\''..=b';' | b'=' | b'?'..=b'Z' | b'^' | b'_' | b'a'..=b'z' | b'~');
        if !keep {
            // Kept bytes are ASCII, so `plain..i` is whole characters when not empty.
            if plain < i {
                out.push_str(&url[plain..i]);
            }
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
            plain = i + 1;
        }
    }
    out.push_str(&url[plain..]);
}

/// Appends `text` as HTML text, or as the value of a double-quoted attribute (`attribute`):
/// `&`, `<`, `>` (and there `"`) as character references, a no-break space as `&nbsp;` (as an
/// HTML serializer writes it), and line ends and NUL (which an HTML parser drops from text and
/// replaces in an attribute) as that parser reads them.
fn escape(out: &mut String, text: &str, attribute: bool) {
    let mut plain = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let (with, len) = match bytes[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' if attribute => ("&quot;", 1),
            0xC2 if bytes.get(i + 1) == Some(&0xA0) => ("&nbsp;", 2),
            // CR LF and a lone CR are LF to an HTML parser, before it looks at a NUL; a CR that
            // ends the text is left to `markdown_to_safe_html`, which sees what follows it.
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => ("", 1),
            b'\r' if i + 1 < bytes.len() => ("\n", 1),
            0 if attribute => ("\u{FFFD}", 1),
            0 => ("", 1),
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&text[plain..i]);
        out.push_str(with);
        i += len;
        plain = i;
    }
    out.push_str(&text[plain..]);
}

/// Drops the newline after block boundaries and writes `'` as `&#x27;`, as HubSpot's renderer
/// does. Attribute values are double-quoted by the writer, so a character reference is valid
/// wherever the apostrophe stands.
fn compact(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('\n') {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        let boundary =
            BLOCK_BOUNDARIES.iter().any(|tag| out.ends_with(tag)) || after[1..].starts_with("</p>");
        if !boundary {
            out.push('\n');
        }
        rest = &after[1..];
    }
    out.push_str(rest);
    if out.contains('\'') {
        out = out.replace('\'', "&#x27;");
    }
    out
}

/// Turns a value into Markdown text that renders as exactly that text: HTML's special
/// characters become character references and every other ASCII punctuation character is
/// backslash-escaped, so a value can never open a tag, a link, emphasis or a heading.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + value.len() / 4);
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The elements CommonMark (with tables and strikethrough) produces.
    const MARKDOWN_TAGS: &[&str] = &[
        "a",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    ];

    /// The render as it was made with a sanitizer: pulldown-cmark's own HTML writer with raw
    /// HTML turned into text, then ammonia keeping only Markdown's elements, the attributes and
    /// the URL schemes the module doc names, and `rel` on links.
    fn sanitized_reference(markdown: &str) -> String {
        use std::collections::{HashMap, HashSet};
        let parser = Parser::new_ext(markdown, OPTIONS).map(|event| match event {
            Event::Start(Tag::HtmlBlock) => Event::Start(Tag::Paragraph),
            Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::Paragraph),
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            other => other,
        });
        let mut unsafe_html = String::new();
        pulldown_cmark::html::push_html(&mut unsafe_html, parser);
        let mut sanitizer = ammonia::Builder::empty();
        sanitizer
            .tags(MARKDOWN_TAGS.iter().copied().collect())
            .tag_attributes(HashMap::from([
                ("a", HashSet::from(["href", "title"])),
                ("img", HashSet::from(["src", "alt", "title"])),
                ("ol", HashSet::from(["start"])),
            ]))
            .url_schemes(ALLOWED_URL_SCHEMES.iter().copied().collect())
            .url_relative(ammonia::UrlRelative::Deny)
            .link_rel(Some(LINK_REL))
            .strip_comments(true);
        compact(&sanitizer.clean(&unsafe_html).to_string())
    }

    /// Pieces of Markdown, HTML, URLs and characters an HTML parser treats specially.
    const PIECES: &[&str] = &[
        "\n",
        "\n\n",
        "\r\n",
        "\r",
        " ",
        "  \n",
        "\t",
        "# ",
        "#### ",
        "- ",
        "* ",
        "1. ",
        "3. ",
        "> ",
        "```\n",
        "```rust x\n",
        "    ",
        "---\n",
        "***",
        "| a | b |\n|:-|-:|\n| c | d |\n",
        "|",
        "**",
        "*",
        "_",
        "~~",
        "`",
        "[",
        "]",
        "(",
        ")",
        "![",
        "]: ",
        "<",
        ">",
        "\"",
        "'",
        "&",
        "&amp;",
        "&#0;",
        "&nbsp;",
        "&quot;",
        "\u{a0}",
        "\0",
        "\\",
        "x",
        "word",
        "é",
        "\u{feff}",
        "http://x.test/a?b=1&c='2'",
        "https://x.test/é ö",
        "mailto:a@x.test",
        "javascript:alert(1)",
        "JaVaScRiPt:x",
        "java\tscript:x",
        " javascript:x",
        "\u{1}javascript:x",
        "data:text/html,x",
        "vbscript:x",
        "/relative",
        "//x.test/p",
        "#frag",
        "https://",
        "http://[::1",
        "https://a b",
        "<script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:x\">",
        "</a>",
        "<!-- c -->",
        "<div>\n",
        "<https://x.test/auto>",
        "<a@x.test>",
        "<javascript:x>",
        " \"t\"",
        " 't'",
        " (t)",
        "[x]: https://x.test/ref\n",
        "[x]",
        "  - ",
        "+ ",
        "1) ",
        "</p>",
        "<svg onload=x>",
        "&#x27;",
        "\\*",
        "***x***",
    ];

    fn has_nested_links(markdown: &str) -> bool {
        let mut open = 0usize;
        for event in Parser::new_ext(markdown, OPTIONS) {
            match event {
                Event::Start(Tag::Link { .. }) if open > 0 => return true,
                Event::Start(Tag::Link { .. }) => open += 1,
                Event::End(TagEnd::Link) => open -= 1,
                _ => {}
            }
        }
        false
    }

    #[test]
    fn a_link_inside_a_link_is_written_as_its_text() {
        let markdown = "[a <https://b.test/> *c*][r]\n\n[r]: https://r.test/";
        assert!(has_nested_links(markdown));
        insta::assert_snapshot!(markdown_to_safe_html(markdown), @r#"<p><a href="https://r.test/" rel="noopener noreferrer nofollow">a https://b.test/ <em>c</em></a></p>"#);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// The writer writes what the sanitizer made of pulldown-cmark's HTML, byte for byte.
        #[test]
        fn writer_matches_ammonia_on_generated_markdown(
            pieces in prop::collection::vec(prop::sample::select(PIECES), 0..40)
        ) {
            let markdown = pieces.concat();
            if has_nested_links(&markdown) {
                // Written differently on purpose (`Writer::links`).
                return Ok(());
            }
            prop_assert_eq!(markdown_to_safe_html(&markdown), sanitized_reference(&markdown), "{:?}", markdown);
        }
    }

    #[test]
    fn line_ends_nul_and_no_break_spaces_are_written_as_an_html_parser_reads_them() {
        for markdown in [
            "<script>\r\0\n",
            "a\r\nb\rc",
            "```\r\nx\r\n```",
            "`a\0b` a\u{a0}b",
            "![a\0\u{a0}\"](x \"t\0\u{a0}\")",
            "&nbsp;&#0;",
        ] {
            assert_eq!(
                markdown_to_safe_html(markdown),
                sanitized_reference(markdown),
                "{markdown:?}"
            );
        }
        // The CR is a line end of its own; the NUL between it and the LF is dropped.
        assert_eq!(
            markdown_to_safe_html("<b>\r\0\n\u{a0}"),
            "<p>&lt;b&gt;\n\n&nbsp;</p>"
        );
    }

    #[test]
    fn writer_matches_ammonia_on_every_construct() {
        let markdown = "# h1\n\n###### h6\n\n> quote\n> > nested\n\n1. a\n2. b\n\n7. c\n\n- [ ] t\n  - nested\n\n    indented\n\n```rust\nfn x() {}\n```\n\n---\n\n| l | c | r |\n|:--|:-:|--:|\n| 1 | *2* | `3` |\n\n| h |\n|---|\n\n*e* **s** ~~d~~ `c` a  \nb\n[t](https://x.test/ \"ti&tle\") ![i *j*](https://x.test/i.png 'it') <https://x.test/a> <a@x.test> [r]\n\n[r]: http://x.test/r\n\n<div>\nraw\n</div>\n";
        assert_eq!(
            markdown_to_safe_html(markdown),
            sanitized_reference(markdown)
        );
    }

    #[test]
    fn blocks_are_joined_without_newlines() {
        insta::assert_snapshot!(markdown_to_safe_html("a\n\n#### b\n\n- c\n- d"), @"<p>a</p><h4>b</h4><ul><li>c</li><li>d</li></ul>");
    }

    #[test]
    fn a_soft_break_inside_a_paragraph_stays() {
        insta::assert_snapshot!(markdown_to_safe_html("**a**\n**b**"), @r"
        <p><strong>a</strong>
        <strong>b</strong></p>
        ");
    }

    #[test]
    fn raw_html_in_markdown_is_shown_as_text() {
        insta::assert_snapshot!(
            markdown_to_safe_html("<script>alert(1)</script>\n\nhi <img src=x onerror=alert(1)> there"),
            @"<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><p>hi &lt;img src=x onerror=alert(1)&gt; there</p>"
        );
    }

    #[test]
    fn links_keep_only_http_https_and_mailto() {
        insta::assert_snapshot!(
            markdown_to_safe_html("[a](https://x.test/) [b](http://x.test/) [c](mailto:a@x.test) [d](javascript:alert(1)) [e](/relative) [f](data:text/html,hi)"),
            @r#"<p><a href="https://x.test/" rel="noopener noreferrer nofollow">a</a> <a href="http://x.test/" rel="noopener noreferrer nofollow">b</a> <a href="mailto:a@x.test" rel="noopener noreferrer nofollow">c</a> <a rel="noopener noreferrer nofollow">d</a> <a rel="noopener noreferrer nofollow">e</a> <a rel="noopener noreferrer nofollow">f</a></p>"#
        );
    }

    #[test]
    fn images_with_script_urls_lose_their_source() {
        insta::assert_snapshot!(
            markdown_to_safe_html("![x](javascript:alert(1)) ![y](https://x.test/y.png)"),
            @r#"<p><img alt="x"> <img src="https://x.test/y.png" alt="y"></p>"#
        );
    }

    #[test]
    fn code_blocks_keep_their_newlines() {
        insta::assert_snapshot!(markdown_to_safe_html("```\na\nb\n```"), @r"
        <pre><code>a
        b
        </code></pre>
        ");
    }

    #[test]
    fn escaped_values_render_as_their_text() {
        let hostile = "**b** [l](javascript:x) <i>#</i> & 'q' \\";
        let html = markdown_to_safe_html(&escape_value(hostile));
        insta::assert_snapshot!(html, @"<p>**b** [l](javascript:x) &lt;i&gt;#&lt;/i&gt; &amp; &#x27;q&#x27; \\</p>");
    }
}
