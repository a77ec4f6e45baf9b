//! HTML bodies as plain text a person can read ([`to_text`]).

use scraper::node::{Element, Text};
use scraper::{Html, Node};

use super::{MAX_HTML_BYTES, MAX_TEXT_BYTES, cap, flat_text, parse_bounded};

/// Deeper nesting of quotes and lists than this is rendered at this depth, so
/// that hostile nesting cannot make every line a screenful of `> > > `.
const MAX_PREFIX_DEPTH: usize = 32;

/// The longest link target shown in the text; longer ones are shortened.
const MAX_LINK_CHARS: usize = 2048;

/// Turns an HTML body into plain text a person can read: paragraphs, `<br>`
/// and headings become line breaks, lists become `- ` / `1. ` items indented
/// by nesting, table rows become lines with cells separated by ` | `,
/// blockquotes become `> ` lines, `<pre>` keeps its layout, links become
/// `text <https://target>` (the target is left out where the text already
/// says it; a `mailto:` target shows as the address), images become
/// `[image: alt]`. Scripts, styles, the head, comments and hidden elements are
/// dropped, entities decoded and whitespace collapsed as a browser does.
///
/// A document too costly to parse (hostile nesting, thousands of `<b>`)
/// becomes text without structure instead. The result is at most
/// [`MAX_TEXT_BYTES`]; this never panics.
pub fn to_text(html: &str) -> String {
    let html = cap(html, MAX_HTML_BYTES);
    let Some(document) = parse_bounded(html) else {
        return flat_text(html);
    };
    let mut writer = TextWriter::default();
    writer.walk(&document);
    writer.out
}

/// What a line starts with inside a list item, blockquote or definition.
#[derive(Debug)]
struct Prefix {
    /// The list marker, written on the item's first line only.
    marker: Option<String>,
    /// Written on every other line of the item (or every line of a quote).
    indent: String,
}

/// An open `<ul>` or `<ol>`.
#[derive(Debug)]
struct List {
    ordered: bool,
    next: i64,
}

/// An open table row.
#[derive(Debug, Default)]
struct Row {
    /// Whether an earlier cell of this row wrote anything.
    has_content: bool,
    /// Whether the last cell with content spanned several lines.
    multiline: bool,
    /// Where the open cell's text starts in the output.
    cell_start: usize,
}

/// An open `<a>`.
#[derive(Debug)]
struct Link {
    target: Option<String>,
    start: usize,
}

/// Renders a parsed document to text; see [`to_text`].
#[derive(Debug, Default)]
struct TextWriter {
    out: String,
    /// The output reached [`MAX_TEXT_BYTES`].
    full: bool,
    /// Line breaks owed before the next text.
    newlines: usize,
    /// A collapsed space owed before the next text on the same line.
    space: bool,
    /// A cell separator owed before the next text on the same line.
    separator: bool,
    /// Nothing but the prefix has been written on the current line.
    line_has_text: bool,
    prefixes: Vec<Prefix>,
    /// How many of `prefixes` the blank lines owed belong to: those open
    /// since the last text, as a blank line before a quote is not quoted.
    blank_depth: usize,
    lists: Vec<List>,
    rows: Vec<Row>,
    links: Vec<Link>,
    /// Depth of elements that keep whitespace (`<pre>`, `<textarea>`).
    preformatted: usize,
}

impl TextWriter {
    /// Walks the tree without recursion (nesting depth is up to the sender).
    fn walk(&mut self, document: &Html) {
        let root = document.tree.root();
        let Some(mut node) = root.first_child() else {
            return;
        };
        loop {
            if self.full {
                return;
            }
            let entered = self.enter(node.value());
            if entered && let Some(child) = node.first_child() {
                node = child;
                continue;
            }
            if entered {
                self.leave(node.value());
            }
            loop {
                if let Some(next) = node.next_sibling() {
                    node = next;
                    break;
                }
                match node.parent() {
                    Some(parent) if parent.id() != root.id() => {
                        node = parent;
                        self.leave(node.value());
                    }
                    _ => return,
                }
            }
        }
    }

    /// Handles the start of `node`; returns whether to walk into it, in which
    /// case [`TextWriter::leave`] is called for it afterwards.
    fn enter(&mut self, node: &Node) -> bool {
        match node {
            Node::Text(Text { text }) => {
                self.text(text);
                false
            }
            Node::Element(element) => self.enter_element(element),
            Node::Document | Node::Fragment => true,
            Node::Doctype(_) | Node::Comment(_) | Node::ProcessingInstruction(_) => false,
        }
    }

    fn enter_element(&mut self, element: &Element) -> bool {
        let name = element.name();
        if is_skipped(name) || is_hidden(element) {
            return false;
        }
        match name {
            "br" => self.newlines += 1,
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "dl" | "figure" | "address"
            | "fieldset" => self.block(2),
            "pre" | "listing" | "xmp" | "plaintext" | "textarea" => {
                self.block(if name == "textarea" { 1 } else { 2 });
                self.preformatted += 1;
            }
            "blockquote" => {
                self.block(2);
                self.prefixes.push(Prefix {
                    marker: None,
                    indent: "> ".into(),
                });
            }
            "ul" | "ol" | "menu" => {
                self.block(if self.lists.is_empty() { 2 } else { 1 });
                let start = element.attr("start").and_then(|s| s.trim().parse().ok());
                self.lists.push(List {
                    ordered: name == "ol",
                    next: start.unwrap_or(1),
                });
            }
            "li" => {
                self.block(1);
                let marker = match self.lists.last_mut() {
                    Some(list) if list.ordered => {
                        let value = element.attr("value").and_then(|s| s.trim().parse().ok());
                        let number = value.unwrap_or(list.next);
                        list.next = number.saturating_add(1);
                        format!("{number}. ")
                    }
                    _ => "- ".to_owned(),
                };
                let indent = " ".repeat(marker.chars().count());
                self.prefixes.push(Prefix {
                    marker: Some(marker),
                    indent,
                });
            }
            "dd" => {
                self.block(1);
                self.prefixes.push(Prefix {
                    marker: None,
                    indent: "  ".into(),
                });
            }
            "hr" => {
                self.block(1);
                self.word("---");
                self.block(1);
            }
            "table" => self.block(1),
            "tr" => {
                self.block(1);
                self.rows.push(Row::default());
            }
            "td" | "th" => {
                let at = self.out.len();
                if let Some(row) = self.rows.last_mut() {
                    if row.has_content {
                        if row.multiline {
                            self.newlines = self.newlines.max(1);
                        } else {
                            self.separator = true;
                        }
                    }
                    row.cell_start = at;
                }
            }
            "a" => {
                let target = element.attr("href").and_then(link_target);
                self.links.push(Link {
                    target,
                    start: self.out.len(),
                });
            }
            "img" => {
                let alt = element.attr("alt").unwrap_or_default();
                let alt: Vec<_> = alt.split(is_html_space).filter(|w| !w.is_empty()).collect();
                if !alt.is_empty() {
                    self.word(&format!("[image: {}]", alt.join(" ")));
                }
            }
            _ if is_block(name) => self.block(1),
            _ => {}
        }
        true
    }

    fn leave(&mut self, node: &Node) {
        let Node::Element(element) = node else {
            return;
        };
        let name = element.name();
        match name {
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "dl" | "figure" | "address"
            | "fieldset" => self.block(2),
            "pre" | "listing" | "xmp" | "plaintext" | "textarea" => {
                self.preformatted = self.preformatted.saturating_sub(1);
                self.block(if name == "textarea" { 1 } else { 2 });
            }
            "blockquote" => {
                self.pop_prefix();
                self.block(2);
            }
            "ul" | "ol" | "menu" => {
                self.lists.pop();
                self.block(if self.lists.is_empty() { 2 } else { 1 });
            }
            "li" | "dd" => {
                self.pop_prefix();
                self.block(1);
            }
            "tr" => {
                self.rows.pop();
                self.block(1);
            }
            "table" => self.block(1),
            "td" | "th" => {
                let len = self.out.len();
                if let Some(row) = self.rows.last_mut()
                    && let Some(cell) = self.out.get(row.cell_start..len)
                    && !cell.trim().is_empty()
                {
                    row.has_content = true;
                    row.multiline = cell.trim().contains('\n') || self.newlines > 0;
                }
            }
            "a" => {
                if let Some(link) = self.links.pop()
                    && let Some(target) = link.target
                {
                    let text = self.out.get(link.start..).unwrap_or_default();
                    if !same_target(text, &target) {
                        self.space = true;
                        self.word(&format!("<{target}>"));
                    }
                }
            }
            _ if is_block(name) => self.block(1),
            _ => {}
        }
    }

    /// Asks for at least `lines` line breaks before the next text.
    fn block(&mut self, lines: usize) {
        self.newlines = self.newlines.max(lines);
    }

    /// A text node: whitespace collapsed, or kept inside `<pre>`.
    fn text(&mut self, text: &str) {
        if self.preformatted > 0 {
            for (i, line) in text.split('\n').enumerate() {
                if i > 0 {
                    self.newlines += 1;
                }
                if !line.is_empty() {
                    self.word(line);
                }
            }
        } else if text.chars().all(|c| is_html_space(c) || c == '\u{a0}') {
            // Spacer text (`&nbsp;` in an empty cell or paragraph) counts as
            // blank, as it looks; next to words a no-break space is kept.
            self.space |= !text.is_empty();
        } else {
            self.inline(text);
        }
    }

    /// Writes `text` with runs of HTML whitespace collapsed to one space.
    fn inline(&mut self, text: &str) {
        if text.starts_with(is_html_space) {
            self.space = true;
        }
        for word in text.split(is_html_space).filter(|w| !w.is_empty()) {
            self.word(word);
            self.space = true;
        }
        if !text.ends_with(is_html_space) {
            self.space = false;
        }
    }

    /// Writes `word` as it is, after the line breaks, separator or space owed.
    fn word(&mut self, word: &str) {
        if self.newlines > 0 {
            if !self.out.is_empty() {
                self.push("\n");
                // Outside `<pre>`, runs of blank lines show as one.
                let lines = if self.preformatted > 0 {
                    self.newlines
                } else {
                    self.newlines.min(2)
                };
                for _ in 1..lines {
                    let blank = self.blank_prefix();
                    self.push(&blank);
                    self.push("\n");
                }
            }
            self.newlines = 0;
            self.line_has_text = false;
            self.space = false;
            self.separator = false;
        }
        if self.line_has_text {
            if self.separator {
                self.push(" | ");
            } else if self.space {
                self.push(" ");
            }
        } else {
            let prefix = self.line_prefix();
            self.push(&prefix);
            self.line_has_text = true;
        }
        self.space = false;
        self.separator = false;
        self.blank_depth = self.prefixes.len();
        self.push(word);
    }

    fn pop_prefix(&mut self) {
        self.prefixes.pop();
        self.blank_depth = self.blank_depth.min(self.prefixes.len());
    }

    /// The prefix of a new line: list markers owed, else indents and `> `.
    fn line_prefix(&mut self) -> String {
        let mut prefix = String::new();
        for p in self.prefixes.iter_mut().take(MAX_PREFIX_DEPTH) {
            match p.marker.take() {
                Some(marker) => prefix.push_str(&marker),
                None => prefix.push_str(&p.indent),
            }
        }
        prefix
    }

    /// The prefix of a blank line: only the quote marks.
    fn blank_prefix(&self) -> String {
        let mut prefix: String = self
            .prefixes
            .iter()
            .take(self.blank_depth.min(MAX_PREFIX_DEPTH))
            .map(|p| p.indent.as_str())
            .collect();
        prefix.truncate(prefix.trim_end().len());
        prefix
    }

    /// Appends `s`, stopping at [`MAX_TEXT_BYTES`] on a character boundary.
    fn push(&mut self, s: &str) {
        let room = MAX_TEXT_BYTES.saturating_sub(self.out.len());
        if s.len() > room {
            self.out.push_str(cap(s, room));
            self.full = true;
        } else {
            self.out.push_str(s);
        }
    }
}

/// Whitespace as HTML defines it (what browsers collapse; not U+00A0).
fn is_html_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}')
}

/// Elements whose content is never shown as text.
fn is_skipped(name: &str) -> bool {
    matches!(
        name,
        "head"
            | "title"
            | "script"
            | "style"
            | "template"
            | "noscript"
            | "iframe"
            | "frame"
            | "object"
            | "embed"
            | "applet"
            | "svg"
            | "canvas"
            | "audio"
            | "video"
            | "map"
            | "datalist"
            | "input"
            | "select"
    )
}

/// Elements a browser hides: the `hidden` attribute or an inline
/// `display: none` (the "hidden text" trick of phishing and spam mail).
fn is_hidden(element: &Element) -> bool {
    element.attr("hidden").is_some()
        || element.attr("style").is_some_and(|style| {
            let style: String = style
                .chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_lowercase)
                .collect();
            style.contains("display:none")
        })
}

/// Block elements that start and end a line.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "div"
            | "section"
            | "article"
            | "aside"
            | "header"
            | "footer"
            | "nav"
            | "main"
            | "center"
            | "caption"
            | "details"
            | "summary"
            | "figcaption"
            | "dt"
            | "form"
            | "legend"
            | "option"
            | "tbody"
            | "thead"
            | "tfoot"
            | "body"
            | "html"
    )
}

/// The link target to show for `href`: an `http`, `https` or `ftp` URL, the
/// address of a `mailto:` URL, or a `tel:` URL; `None` for anything else
/// (fragments, relative, `javascript:`, `data:` ...).
fn link_target(href: &str) -> Option<String> {
    // Browsers drop tabs and line breaks inside URLs and trim the ends.
    let href: String = href
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let (scheme, rest) = href.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    let target = match scheme.as_str() {
        "http" | "https" | "ftp" | "tel" => href.clone(),
        "mailto" => rest.split('?').next().unwrap_or_default().to_owned(),
        _ => return None,
    };
    if target.is_empty() || target == format!("{scheme}:") {
        return None;
    }
    if target.chars().count() > MAX_LINK_CHARS {
        let mut short: String = target.chars().take(MAX_LINK_CHARS).collect();
        short.push('…');
        return Some(short);
    }
    Some(target)
}

/// Whether the link text already says the target: equal ignoring case, the
/// scheme, `mailto:`, and a trailing slash.
fn same_target(text: &str, target: &str) -> bool {
    fn normal(s: &str) -> String {
        let s = s.trim().to_lowercase();
        let s = ["https://", "http://", "mailto:"]
            .iter()
            .find_map(|p| s.strip_prefix(p))
            .unwrap_or(&s);
        s.trim_end_matches('/').to_owned()
    }
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    !text.is_empty() && normal(&text) == normal(target)
}
