//! The second and third stages of a render: Markdown to HTML, then the sanitizer.
//!
//! HubSpot's legacy rendering page says raw HTML is not allowed and is stripped; here raw HTML
//! in the Markdown (from the template text, or from a value placed with `{{{…}}}`) is turned
//! into text, so it shows as written and never becomes markup. ammonia then keeps only the
//! elements Markdown itself produces, links only with `http`, `https` or `mailto` (relative
//! links are dropped), and no attribute beyond `href`, `title`, `src`, `alt`, a list's `start`
//! and the link's `rel`: no `on…` handler, no `style`, no script in any form.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use pulldown_cmark::{html, Event, Options, Parser, Tag, TagEnd};

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

/// The schemes a link or image may use (issue 16, item 3).
pub const ALLOWED_URL_SCHEMES: &[&str] = &["http", "https", "mailto"];

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::empty();
    b.tags(MARKDOWN_TAGS.iter().copied().collect())
        .tag_attributes(HashMap::from([
            ("a", HashSet::from(["href", "title"])),
            ("img", HashSet::from(["src", "alt", "title"])),
            ("ol", HashSet::from(["start"])),
        ]))
        .url_schemes(ALLOWED_URL_SCHEMES.iter().copied().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .strip_comments(true);
    b
});

/// Block-level tags after which pulldown-cmark writes a newline. HubSpot's rendered HTML has no
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

/// Markdown → sanitized HTML. Raw HTML becomes text; the output is safe to embed.
pub fn markdown_to_safe_html(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        // A block of raw HTML shows as a paragraph of its text.
        Event::Start(Tag::HtmlBlock) => Event::Start(Tag::Paragraph),
        Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::Paragraph),
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        other => other,
    });
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, parser);
    let clean = SANITIZER.clean(&unsafe_html).to_string();
    compact(&clean)
}

/// Drops the newline after block boundaries and writes `'` as `&#x27;`, as HubSpot's renderer
/// does. Attribute values are double-quoted by the serializer, so a character reference is valid
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
