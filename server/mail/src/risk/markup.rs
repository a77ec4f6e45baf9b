//! Web pages and SVG images: scripts, forms and automatic redirects.

use memchr::memmem;

use super::RiskLevel;
use super::content::Content;
use super::findings::Findings;

/// What kind of markup an attachment is, if it is a web page or SVG image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Markup {
    Html,
    Svg,
}

pub(super) fn markup_kind(
    ext: Option<&str>,
    content_type: &str,
    content: Content,
) -> Option<Markup> {
    match (ext, content_type) {
        (Some("svg" | "svgz"), _) | (_, "image/svg+xml") => Some(Markup::Svg),
        (Some("htm" | "html" | "xhtml" | "shtml" | "mht" | "mhtml" | "xht"), _)
        | (_, "text/html" | "application/xhtml+xml") => Some(Markup::Html),
        _ if content == Content::Markup => Some(Markup::Html),
        _ => None,
    }
}

/// Scripts, event handlers and `javascript:` URLs in a web page or SVG
/// image (High), and forms or automatic redirects in a web page (Medium):
/// the tree is parsed as a browser would, so entity-encoded tricks count,
/// and the raw bytes are searched as well.
pub(super) fn inspect_markup(bytes: &[u8], kind: Markup, findings: &mut Findings) {
    let what = match kind {
        Markup::Html => "web page",
        Markup::Svg => "SVG image",
    };
    let markup = String::from_utf8_lossy(bytes);
    let lower = bytes.to_ascii_lowercase();
    let mut scripts = memmem::find(&lower, b"<script").is_some()
        || memmem::find(&lower, b"javascript:").is_some()
        || memmem::find(&lower, b"vbscript:").is_some();
    let mut forms = false;
    let capped = &markup[..markup.floor_char_boundary(crate::html::MAX_HTML_BYTES)];
    let Some(document) = crate::html::parse_bounded(capped) else {
        findings.add(
            RiskLevel::Medium,
            "active_content",
            format!("This {what} is built in an unusual way that stops it from being checked."),
        );
        return;
    };
    for node in document.tree.nodes() {
        let Some(element) = node.value().as_element() else {
            continue;
        };
        match element.name() {
            "script" => scripts = true,
            "form" | "iframe" | "frame" | "object" | "embed" => forms = true,
            "meta" => {
                forms |= element
                    .attr("http-equiv")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("refresh"));
            }
            _ => {}
        }
        for (name, value) in element.attrs() {
            let value: String = value
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect::<String>()
                .to_ascii_lowercase();
            if name.starts_with("on")
                || value.starts_with("javascript:")
                || value.starts_with("vbscript:")
                || value.starts_with("data:text/html")
            {
                scripts = true;
            }
        }
    }
    if scripts {
        findings.add(
            RiskLevel::High,
            "active_content",
            format!("This {what} contains scripts: code that runs if you open it in a browser."),
        );
    } else if forms {
        findings.add(
            RiskLevel::Medium,
            "active_content",
            format!(
                "This {what} contains a form or sends you elsewhere on its own. Never type a \
                 password into a page that came as an attachment."
            ),
        );
    }
}
