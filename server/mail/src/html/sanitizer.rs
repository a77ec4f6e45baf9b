//! HTML bodies cleaned into an inert document for the formatted view
//! ([`sanitize`]), by an ammonia allowlist.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

use scraper::node::Text;
use scraper::{ElementRef, Html, Node};

use super::{MAX_HTML_BYTES, cap, flat_text, parse_bounded};

/// Cleans an HTML body into a complete, inert HTML document for the
/// formatted view. Kept: text formatting, headings, lists, tables, quotes and
/// links (only `http:`, `https:` and `mailto:`, opened in a new tab with
/// `rel="noopener noreferrer nofollow"`). Images stay only when they are
/// embedded PNG, GIF, JPEG or WebP `data:` URLs; any other image is replaced
/// by its alt text. Everything that could run code or load something is
/// removed: scripts, event handlers, `style` attributes and elements, forms,
/// frames, objects, SVG and MathML, `srcset`, `background`, `javascript:` and
/// relative URLs.
///
/// A document too costly to parse becomes its plain text in a `<pre>`. The
/// server still sends a Content-Security-Policy that forbids scripts and
/// remote loads; this is the second wall, not the only one.
pub fn sanitize(html: &str) -> String {
    let html = cap(html, MAX_HTML_BYTES);
    // ammonia parses again, without a budget: check that its input is as
    // tame as the original.
    let body = parse_bounded(html)
        .map(inline_images_only)
        .filter(|body| parse_bounded(body).is_some());
    let clean = match body {
        Some(body) => SANITIZER.clean(&body).to_string(),
        None => format!("<pre>{}</pre>", escape(&flat_text(html))),
    };
    format!(
        "<!doctype html><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\
         <body>{clean}</body>"
    )
}

/// `text` with the characters that are markup in HTML escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// The allowlist for [`sanitize`].
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let tags = [
        "a",
        "abbr",
        "acronym",
        "address",
        "b",
        "bdi",
        "bdo",
        "big",
        "blockquote",
        "br",
        "caption",
        "center",
        "cite",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "details",
        "dfn",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "font",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "rp",
        "rt",
        "ruby",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "summary",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "tt",
        "u",
        "ul",
        "var",
        "wbr",
    ];
    let cell = &["colspan", "rowspan", "width", "height", "bgcolor", "nowrap"][..];
    let tag_attributes: &[(&str, &[&str])] = &[
        ("a", &["href"]),
        ("img", &["src", "alt", "width", "height"]),
        ("td", cell),
        ("th", cell),
        (
            "table",
            &[
                "border",
                "cellpadding",
                "cellspacing",
                "width",
                "bgcolor",
                "summary",
            ],
        ),
        ("tr", &["bgcolor"]),
        ("col", &["span", "width"]),
        ("colgroup", &["span", "width"]),
        ("font", &["color", "face", "size"]),
        ("ol", &["start", "type", "reversed"]),
        ("ul", &["type"]),
        ("li", &["value"]),
        ("time", &["datetime"]),
        ("details", &["open"]),
    ];
    let mut builder = ammonia::Builder::empty();
    builder
        .tags(tags.into_iter().collect())
        .clean_content_tags(
            [
                "script", "style", "title", "noscript", "template", "iframe", "noembed",
                "noframes", "object", "applet", "svg", "math", "select", "datalist",
            ]
            .into_iter()
            .collect(),
        )
        .generic_attributes(
            ["title", "lang", "dir", "align", "valign"]
                .into_iter()
                .collect(),
        )
        .tag_attributes(
            tag_attributes
                .iter()
                .map(|&(tag, attrs)| (tag, attrs.iter().copied().collect::<HashSet<_>>()))
                .collect(),
        )
        .url_schemes(["http", "https", "mailto", "data"].into_iter().collect())
        // Relative URLs include `//host/x`, which loads from `host`.
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .set_tag_attribute_value("a", "target", "_blank")
        .strip_comments(true)
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("a", "href") => is_link_url(value).then_some(Cow::Borrowed(value)),
            ("img", "src") => is_inline_image(value).then_some(Cow::Borrowed(value)),
            _ => Some(Cow::Borrowed(value)),
        });
    builder
});

/// `http:`, `https:` or `mailto:` (the schemes a link may keep).
fn is_link_url(url: &str) -> bool {
    let url = url.trim_start_matches(|c: char| c <= ' ').as_bytes();
    ["http:", "https:", "mailto:"].iter().any(|scheme| {
        url.len() >= scheme.len() && url[..scheme.len()].eq_ignore_ascii_case(scheme.as_bytes())
    })
}

/// An embedded PNG, GIF, JPEG or WebP image (not SVG: it can hold script).
pub(super) fn is_inline_image(url: &str) -> bool {
    let url = url.trim_start_matches(|c: char| c <= ' ');
    ["png", "gif", "jpeg", "webp"].iter().any(|kind| {
        let prefix = format!("data:image/{kind}");
        url.get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(&prefix))
            && matches!(url.as_bytes().get(prefix.len()), Some(b';' | b','))
    })
}

/// The body of `document` with every image that is not an embedded
/// [`is_inline_image`] replaced by its alt text, serialised for ammonia
/// (which cannot replace an element by text).
fn inline_images_only(mut document: Html) -> String {
    let blocked: Vec<_> = document
        .tree
        .nodes()
        .filter_map(|node| {
            let element = node.value().as_element()?;
            (element.name() == "img" && !element.attr("src").is_some_and(is_inline_image)).then(
                || {
                    (
                        node.id(),
                        element.attr("alt").unwrap_or_default().to_owned(),
                    )
                },
            )
        })
        .collect();
    for (id, alt) in blocked {
        if let Some(mut node) = document.tree.get_mut(id) {
            if !alt.trim().is_empty() {
                node.insert_before(Node::Text(Text {
                    text: alt.as_str().into(),
                }));
            }
            node.detach();
        }
    }
    let body = document
        .tree
        .nodes()
        .find(|node| {
            node.value()
                .as_element()
                .is_some_and(|e| e.name() == "body")
        })
        .and_then(ElementRef::wrap);
    body.map(|body| body.inner_html()).unwrap_or_default()
}
