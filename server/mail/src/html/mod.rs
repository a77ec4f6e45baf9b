//! HTML mail bodies: turning them into readable plain text ([`to_text`]) and
//! into a small, inert document for the optional formatted view
//! ([`sanitize`]).
//!
//! Both parse with html5ever (through `scraper` for the text walk and
//! `ammonia` for the allowlist), the parser browsers are tested against, so the
//! text and the formatted view see the same tree a browser would. Neither ever
//! fetches anything: images are never loaded and remote resources never
//! survive [`sanitize`].

use std::borrow::Cow;
use std::cell::{Cell, Ref};
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::LazyLock;

use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{Attribute, QualName};
use mail_parser::PartType;
use scraper::node::{Element, Text};
use scraper::{ElementRef, Html, HtmlTreeSink, Node};

use crate::parse;

/// The most HTML, in bytes, that [`to_text`] and [`sanitize`] parse; the rest
/// is cut off (on a character boundary). Parsing cost and the size of the tree
/// grow with the input, and no mail worth reading is longer.
pub const MAX_HTML_BYTES: usize = 8 << 20;

/// The most text, in bytes, that [`to_text`] returns.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// Deeper nesting of quotes and lists than this is rendered at this depth, so
/// that hostile nesting cannot make every line a screenful of `> > > `.
const MAX_PREFIX_DEPTH: usize = 32;

/// The longest link target shown in the text; longer ones are shortened.
const MAX_LINK_CHARS: usize = 2048;

/// The most tree-building work (see [`BoundedSink`]) spent on one document.
/// HTML's tree construction rescans the stack of open elements for every
/// tag, so deep nesting costs time quadratic in the input: 8 MiB of `<div>`
/// would take hours. Real mail needs a few million steps at most.
const MAX_PARSE_WORK: u64 = 50_000_000;

/// The work a new node counts for: creating one costs far more than a step
/// of a scan, and [`MAX_PARSE_WORK`] so also caps the tree at a million
/// nodes (hostile mail can make the tree builder create nodes quadratic in
/// the input, by reopening formatting elements).
const NODE_WORK: u64 = 50;

/// Input is fed to the parser in pieces of this size, so that going over
/// [`MAX_PARSE_WORK`] is noticed soon after it happens.
const PARSE_CHUNK_BYTES: usize = 4096;

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

/// The first `text/html` body part of a raw RFC 5322 message, decoded to
/// UTF-8, or `None` if the message has no HTML body (HTML attachments do not
/// count).
pub fn message_html(raw: &[u8]) -> Option<String> {
    std::panic::catch_unwind(|| {
        let message = parse::PARSER.parse(raw)?;
        message
            .html_body
            .iter()
            .filter_map(|&id| message.parts.get(id as usize))
            .find_map(|part| match &part.body {
                PartType::Html(html) => Some(html.to_string()),
                _ => None,
            })
    })
    .ok()
    .flatten()
}

/// `s` cut to at most `max` bytes on a character boundary.
fn cap(s: &str, max: usize) -> &str {
    &s[..s.floor_char_boundary(max)]
}

/// Parses `html` as a browser would, or returns `None` if that takes more
/// than [`MAX_PARSE_WORK`] or it has more than [`MAX_FORMATTING_TAGS`].
pub(crate) fn parse_bounded(html: &str) -> Option<Html> {
    if formatting_tags(html) > MAX_FORMATTING_TAGS {
        return None;
    }
    let work = Rc::new(Cell::new(0));
    let sink = BoundedSink {
        inner: HtmlTreeSink::new(Html::new_document()),
        work: Rc::clone(&work),
    };
    let mut parser = html5ever::parse_document(sink, Default::default());
    let mut rest = html;
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(rest.floor_char_boundary(PARSE_CHUNK_BYTES).max(
            // A character longer than the chunk cannot happen (chunks are
            // bigger than 4 bytes), but never loop without progress.
            rest.ceil_char_boundary(1),
        ));
        parser.process(StrTendril::from(chunk));
        if work.get() > MAX_PARSE_WORK {
            return None;
        }
        rest = tail;
    }
    let document = parser.finish();
    (work.get() <= MAX_PARSE_WORK).then_some(document)
}

/// The text of `html` by mail-parser's simple converter: no structure, but
/// linear time, for documents too costly to parse.
fn flat_text(html: &str) -> String {
    let text = mail_parser::decoders::html::html_to_text(html);
    cap(&text, MAX_TEXT_BYTES).to_owned()
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

/// scraper's tree sink, counting the work the tree builder does: every
/// element name it looks at and every pair of nodes it compares (its scans of
/// the stack of open elements and of the list of active formatting elements
/// call [`TreeSink::elem_name`] or [`TreeSink::same_node`] once per step),
/// and every node it creates ([`NODE_WORK`] each).
struct BoundedSink {
    inner: HtmlTreeSink,
    work: Rc<Cell<u64>>,
}

impl BoundedSink {
    fn count(&self, steps: u64) {
        self.work.set(self.work.get().saturating_add(steps));
    }
}

/// The elements HTML's tree builder keeps in its list of active formatting
/// elements.
const FORMATTING_ELEMENTS: &[&[u8]] = &[
    b"a", b"b", b"big", b"code", b"em", b"font", b"i", b"nobr", b"s", b"small", b"strike",
    b"strong", b"tt", b"u",
];

/// The most formatting start tags (`<b>`, `<a>`, `<font>` ...) in a document
/// that is parsed. For each one the tree builder scans its list of active
/// formatting elements without calling the sink, so [`BoundedSink`] cannot
/// count that work; hostile mail makes the list as long as the tag count.
const MAX_FORMATTING_TAGS: usize = 10_000;

/// How many start tags of [`FORMATTING_ELEMENTS`] `html` has (an upper bound:
/// tags in comments and scripts count too).
fn formatting_tags(html: &str) -> usize {
    let bytes = html.as_bytes();
    memchr::memchr_iter(b'<', bytes)
        .filter(|&at| {
            let rest = &bytes[at + 1..];
            let end = rest
                .iter()
                .position(|b| !b.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            end > 0
                && end <= 6
                && FORMATTING_ELEMENTS
                    .iter()
                    .any(|name| rest[..end].eq_ignore_ascii_case(name))
        })
        .count()
}

impl TreeSink for BoundedSink {
    type Handle = <HtmlTreeSink as TreeSink>::Handle;
    type Output = Html;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> Html {
        self.inner.finish()
    }

    fn parse_error(&self, msg: Cow<'static, str>) {
        self.inner.parse_error(msg);
    }

    fn get_document(&self) -> Self::Handle {
        self.inner.get_document()
    }

    fn elem_name<'a>(&'a self, target: &'a Self::Handle) -> Self::ElemName<'a> {
        self.count(1);
        self.inner.elem_name(target)
    }

    fn create_element(
        &self,
        name: QualName,
        attrs: Vec<Attribute>,
        flags: ElementFlags,
    ) -> Self::Handle {
        self.count(NODE_WORK);
        self.inner.create_element(name, attrs, flags)
    }

    fn create_comment(&self, text: StrTendril) -> Self::Handle {
        self.count(NODE_WORK);
        self.inner.create_comment(text)
    }

    fn create_pi(&self, target: StrTendril, data: StrTendril) -> Self::Handle {
        self.count(NODE_WORK);
        self.inner.create_pi(target, data)
    }

    fn append(&self, parent: &Self::Handle, child: NodeOrText<Self::Handle>) {
        self.inner.append(parent, child);
    }

    fn append_based_on_parent_node(
        &self,
        element: &Self::Handle,
        prev_element: &Self::Handle,
        child: NodeOrText<Self::Handle>,
    ) {
        self.inner
            .append_based_on_parent_node(element, prev_element, child);
    }

    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        self.inner
            .append_doctype_to_document(name, public_id, system_id);
    }

    fn mark_script_already_started(&self, node: &Self::Handle) {
        self.inner.mark_script_already_started(node);
    }

    fn pop(&self, node: &Self::Handle) {
        self.inner.pop(node);
    }

    fn get_template_contents(&self, target: &Self::Handle) -> Self::Handle {
        self.inner.get_template_contents(target)
    }

    fn same_node(&self, x: &Self::Handle, y: &Self::Handle) -> bool {
        self.count(1);
        self.inner.same_node(x, y)
    }

    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode);
    }

    fn append_before_sibling(&self, sibling: &Self::Handle, new_node: NodeOrText<Self::Handle>) {
        self.inner.append_before_sibling(sibling, new_node);
    }

    fn add_attrs_if_missing(&self, target: &Self::Handle, attrs: Vec<Attribute>) {
        self.inner.add_attrs_if_missing(target, attrs);
    }

    fn associate_with_form(
        &self,
        target: &Self::Handle,
        form: &Self::Handle,
        nodes: (&Self::Handle, Option<&Self::Handle>),
    ) {
        self.inner.associate_with_form(target, form, nodes);
    }

    fn remove_from_parent(&self, target: &Self::Handle) {
        self.inner.remove_from_parent(target);
    }

    fn reparent_children(&self, node: &Self::Handle, new_parent: &Self::Handle) {
        self.count(1);
        self.inner.reparent_children(node, new_parent);
    }

    fn is_mathml_annotation_xml_integration_point(&self, handle: &Self::Handle) -> bool {
        self.inner
            .is_mathml_annotation_xml_integration_point(handle)
    }
}

// ---------------------------------------------------------------------------
// Plain text

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

// ---------------------------------------------------------------------------
// Formatted view

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
fn is_inline_image(url: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn corpus() -> PathBuf {
        std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        )
        .join("../../../shared/corpus")
    }

    #[test]
    fn paragraphs_breaks_and_headings() {
        let text = to_text(
            "<html><head><title>T</title><style>p{color:red}</style></head><body>\
             <h1>Title</h1><p>One\n  two   three</p><p>Four<br>five<br><br>six</p>\
             <div>seven</div><div><br></div><div>eight</div></body></html>",
        );
        assert_eq!(
            text,
            "Title\n\nOne two three\n\nFour\nfive\n\nsix\n\nseven\n\neight"
        );
    }

    #[test]
    fn inline_elements_keep_words_together() {
        assert_eq!(to_text("a<b>b</b>c <i> d </i> e"), "abc d e");
        assert_eq!(
            to_text("x &amp; y &lt;z&gt; &eacute;&#233;&#x1F600;"),
            "x & y <z> éé😀"
        );
        assert_eq!(to_text("Hello&nbsp;<b>world</b>"), "Hello\u{a0}world");
        assert_eq!(to_text("<p>&nbsp;</p><p>after</p>"), "after");
    }

    #[test]
    fn lists_are_items_and_nest() {
        let text = to_text(
            "<ul><li>one</li><li>two<ul><li>two a</li><li>two b</li></ul></li></ul>\
             <ol start=3><li>three</li><li><p>four</p><p>more</p></li></ol>",
        );
        assert_eq!(
            text,
            "- one\n- two\n  - two a\n  - two b\n\n3. three\n\n4. four\n\n   more"
        );
    }

    #[test]
    fn tables_are_rows_of_cells() {
        let text = to_text(
            "<table><tr><th>Name</th><th>Qty</th></tr><tr><td>Apple</td><td>3</td></tr>\
             <tr><td>&nbsp;</td><td>x</td></tr></table><p>after</p>",
        );
        assert_eq!(text, "Name | Qty\nApple | 3\nx\n\nafter");
    }

    #[test]
    fn layout_tables_do_not_become_columns() {
        let text = to_text(
            "<table><tr><td><table><tr><td><p>First paragraph</p><p>Second</p></td></tr>\
             </table></td><td>Side</td></tr></table>",
        );
        assert_eq!(text, "First paragraph\n\nSecond\n\nSide");
    }

    #[test]
    fn blockquotes_are_quoted() {
        let text = to_text(
            "<p>Reply</p><blockquote><p>quoted</p><p>more</p><blockquote>deeper</blockquote>\
             </blockquote>end",
        );
        assert_eq!(text, "Reply\n\n> quoted\n>\n> more\n>\n> > deeper\n\nend");
    }

    #[test]
    fn pre_keeps_layout() {
        let text = to_text("<p>x</p><pre>  a  b\n\tc\n\n\nd</pre>y");
        assert_eq!(text, "x\n\n  a  b\n\tc\n\n\nd\n\ny");
    }

    #[test]
    fn links_show_their_targets() {
        assert_eq!(
            to_text("<a href='https://example.org/a?b=1'>the docs</a>."),
            "the docs <https://example.org/a?b=1>."
        );
        assert_eq!(
            to_text("<a href='https://example.org/'>https://example.org</a>"),
            "https://example.org"
        );
        assert_eq!(
            to_text("<a href='http://Example.org'>example.org</a>"),
            "example.org"
        );
        assert_eq!(
            to_text("<a href='mailto:bob@example.org?subject=hi'>Bob</a>"),
            "Bob <bob@example.org>"
        );
        assert_eq!(
            to_text("<a href='mailto:bob@example.org'>bob@example.org</a>"),
            "bob@example.org"
        );
        // A link whose text names another site shows the real target.
        assert_eq!(
            to_text("<a href='https://evil.example/'>https://bank.example/</a>"),
            "https://bank.example/ <https://evil.example/>"
        );
        assert_eq!(to_text("<a href='javascript:alert(1)'>click</a>"), "click");
        assert_eq!(to_text("<a href='#top'>top</a>"), "top");
        assert_eq!(
            to_text("<a href='https://example.org/x'><img src='https://t.example/p.gif'></a>"),
            "<https://example.org/x>"
        );
    }

    #[test]
    fn images_are_never_fetched_only_named() {
        assert_eq!(
            to_text("a <img src='https://t.example/x.png' alt=' A  cat '> b <img src=x>"),
            "a [image: A cat] b"
        );
    }

    #[test]
    fn scripts_styles_comments_and_hidden_text_are_dropped() {
        let text = to_text(
            "<script>alert(1)</script><style>.x{}</style><!-- secret -->\
             <div style='display: NONE'>hidden preheader</div><p hidden>also</p>\
             <noscript>ns</noscript><template>tpl</template><svg><text>s</text></svg>shown",
        );
        assert_eq!(text, "shown");
    }

    #[test]
    fn text_is_capped_and_deep_nesting_is_fine() {
        let big = "word ".repeat(MAX_TEXT_BYTES / 4);
        let text = to_text(&big);
        assert!(text.len() <= MAX_TEXT_BYTES && text.len() > MAX_TEXT_BYTES - 8);

        let deep = "<blockquote><ul><li>".repeat(40) + "bottom";
        let text = to_text(&deep);
        assert!(text.ends_with("- bottom"), "{text}");
        assert_eq!(text.lines().count(), 1);
        assert!(text.len() < 300, "{}", text.len());
    }

    #[test]
    fn costly_nesting_falls_back_to_flat_text() {
        // Quadratic for the HTML tree builder: without the work budget this
        // takes hours. The text survives, without structure.
        let divs = "<div>".repeat(MAX_HTML_BYTES / 5 + 100) + "x";
        assert!(parse_bounded(&divs).is_none());
        assert_eq!(to_text(&divs).trim(), "");
        let deep = "<blockquote><ul><li>".repeat(20_000) + "bottom";
        assert!(parse_bounded(&deep).is_none());
        assert!(to_text(&deep).contains("bottom"));
        let out = sanitize(&(deep.clone() + "<script>x</script>"));
        assert!(
            out.contains("<pre>") && out.contains("bottom") && !out.contains("<script"),
            "{out}"
        );
        // Each formatting tag makes the tree builder scan all open ones.
        let formatting: String = (0..=MAX_FORMATTING_TAGS)
            .map(|i| format!("<b id={i}>"))
            .collect();
        assert!(parse_bounded(&formatting).is_none());
        assert!(formatting_tags("<B><a href=x><abbr><font><bdi></b><strong/>") == 4);
        // Ordinary mail is nowhere near the budget.
        let mail = "<table><tr><td><p>Hello <b>there</b>, <a href='https://x.example/'>link</a></p></td></tr></table>"
            .repeat(5000);
        assert!(parse_bounded(&mail).is_some());
    }

    #[test]
    fn sanitize_keeps_formatting() {
        let out = sanitize(
            "<p>Hi <b>bold</b> <i>it</i></p><ul><li>x</li></ul>\
             <table border=1><tr><td colspan=2>c</td></tr></table><blockquote>q</blockquote>",
        );
        assert!(out.starts_with(
            "<!doctype html><meta charset=\"utf-8\"><meta name=\"referrer\" \
             content=\"no-referrer\"><body>"
        ));
        assert!(out.ends_with("</body>"));
        assert!(
            out.contains("<p>Hi <b>bold</b> <i>it</i></p><ul><li>x</li></ul>"),
            "{out}"
        );
        assert!(out.contains("<td colspan=\"2\">c</td>"), "{out}");
        assert!(out.contains("<blockquote>q</blockquote>"), "{out}");
    }

    #[test]
    fn sanitize_links_open_safely() {
        let out = sanitize(
            "<a href='https://example.org/' onclick='x()' rel=opener target=_self>a</a>\
             <a href='javascript:alert(1)'>b</a><a href='//evil.example/'>c</a>\
             <a href='data:text/html,<script>alert(1)</script>'>d</a><a href='mailto:x@y.z'>e</a>",
        );
        let document = Html::parse_document(&out);
        let links: Vec<_> = document
            .tree
            .nodes()
            .filter_map(|node| node.value().as_element())
            .filter(|element| element.name() == "a")
            .map(|a| (a.attr("href"), a.attr("rel"), a.attr("target")))
            .collect();
        let rel = Some("noopener noreferrer nofollow");
        assert_eq!(
            links,
            [
                (Some("https://example.org/"), rel, Some("_blank")),
                (None, rel, Some("_blank")),
                (None, rel, Some("_blank")),
                (None, rel, Some("_blank")),
                (Some("mailto:x@y.z"), rel, Some("_blank")),
            ]
        );
        assert!(!out.contains("javascript") && !out.contains("evil") && !out.contains("data:"));
        assert!(out.contains("href=\"mailto:x@y.z\""));
        assert!(!out.contains("onclick") && !out.contains("opener\"") && !out.contains("_self"));
    }

    #[test]
    fn sanitize_keeps_only_inline_raster_images() {
        let out = sanitize(
            "<img src='https://t.example/pixel.gif' alt='Logo'>\
             <img src='//t.example/p.gif'><img src='cid:part1' alt='Inline'>\
             <img src='data:image/svg+xml;base64,PHN2Zz4=' alt='Vector'>\
             <img src='data:image/png;base64,iVBORw0KGgo=' alt='ok' srcset='https://x/1.png 2x'>\
             <p background='https://x/bg.png' style='background:url(https://x/s.png)'>p</p>",
        );
        assert!(out.contains("Logo") && out.contains("Inline") && out.contains("Vector"));
        assert!(
            out.contains("src=\"data:image/png;base64,iVBORw0KGgo=\"")
                && out.contains("alt=\"ok\""),
            "{out}"
        );
        assert_eq!(out.matches("<img").count(), 1, "{out}");
        assert!(!out.contains("t.example") && !out.contains("x/"), "{out}");
        assert!(!out.contains("style") && !out.contains("background") && !out.contains("srcset"));
    }

    #[test]
    fn sanitize_drops_active_and_loading_elements() {
        let out = sanitize(
            "<html><head><base href='https://evil.example/'><link rel=stylesheet href='https://x/s.css'>\
             <meta http-equiv=refresh content='0;url=https://x'><title>t</title></head><body>\
             <form action='https://x'><input name=p></form><iframe src='https://x'>f</iframe>\
             <object data='https://x/o'></object><svg><script>alert(1)</script></svg>\
             <math><mtext>m</mtext></math><video poster='https://x/p.png'></video>kept</body></html>",
        );
        for bad in [
            "<base",
            "<link",
            "<meta http",
            "<form",
            "<input",
            "<iframe",
            "<object",
            "<svg",
            "<math",
            "<video",
            "poster",
            "https://x",
            "evil",
            "<title",
        ] {
            assert!(!out.contains(bad), "{bad} in {out}");
        }
        assert!(out.ends_with("kept</body>"), "{out}");
    }

    /// Every element and attribute of the sanitised `out`, as a browser
    /// would parse it, must be inert.
    fn assert_inert(input: &str, out: &str) {
        let body = out
            .strip_prefix(
                "<!doctype html><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">",
            )
            .unwrap_or_else(|| panic!("no header: {out}"));
        let lower = body.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "script from {input:?}: {out}");
        assert!(!lower.contains("url("), "url( from {input:?}: {out}");
        let document = Html::parse_document(out);
        for node in document.tree.nodes() {
            let Some(element) = node.value().as_element() else {
                continue;
            };
            assert!(
                !matches!(
                    element.name(),
                    "script"
                        | "style"
                        | "iframe"
                        | "object"
                        | "embed"
                        | "form"
                        | "base"
                        | "link"
                        | "svg"
                        | "math"
                        | "frame"
                        | "frameset"
                        | "input"
                        | "button"
                ),
                "<{}> from {input:?}: {out}",
                element.name()
            );
            if element.name() == "meta" {
                assert!(element.attr("http-equiv").is_none(), "{out}");
            }
            for (name, value) in element.attrs() {
                let value = value.trim().to_ascii_lowercase();
                assert!(!name.starts_with("on"), "{name} from {input:?}: {out}");
                assert!(
                    !matches!(
                        name,
                        "style" | "srcset" | "background" | "poster" | "formaction" | "action"
                    ),
                    "{name} from {input:?}: {out}"
                );
                if !matches!(name, "title" | "alt") {
                    assert!(
                        !value.contains("javascript:"),
                        "{value} from {input:?}: {out}"
                    );
                }
                if name == "src" {
                    assert!(is_inline_image(&value), "src {value} from {input:?}: {out}");
                }
                if name == "href" {
                    assert!(
                        value.starts_with("http:")
                            || value.starts_with("https:")
                            || value.starts_with("mailto:"),
                        "href {value} from {input:?}: {out}"
                    );
                }
            }
        }
    }

    fn json_strings(path: &Path, key: &str) -> Vec<String> {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let value: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| Some(entry.get(key)?.as_str()?.to_owned()))
            .collect()
    }

    #[test]
    fn sanitize_defeats_dompurify_and_h5sc_vectors() {
        let xss = corpus().join("xss");
        let mut payloads = json_strings(&xss.join("dompurify/expect.json"), "payload");
        assert!(payloads.len() > 200);
        let vectors = json_strings(&xss.join("h5sc/vectors.json"), "vector");
        assert!(vectors.len() > 100);
        payloads.extend(vectors);
        for name in ["test.html", "test.svg"] {
            let path = xss.join("h5sc").join(name);
            payloads.push(std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}")));
        }
        for payload in &payloads {
            assert_inert(payload, &sanitize(payload));
            let _ = to_text(payload);
        }
    }

    #[test]
    fn message_html_finds_the_html_body() {
        let raw = b"From: a@example.org\nContent-Type: multipart/alternative; boundary=b\n\n\
--b\nContent-Type: text/plain\n\nplain\n\
--b\nContent-Type: text/html; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n\
<p>Gr=FC=DFe</p>\n--b--\n";
        assert_eq!(message_html(raw).as_deref(), Some("<p>Grüße</p>"));
        assert_eq!(message_html(b"Subject: x\n\nplain only\n"), None);
        let attached = b"From: a@example.org\nContent-Type: multipart/mixed; boundary=b\n\n\
--b\nContent-Type: text/plain\n\nbody\n\
--b\nContent-Type: text/html\nContent-Disposition: attachment; filename=x.html\n\n<p>x</p>\n--b--\n";
        assert_eq!(message_html(attached), None);
        assert_eq!(message_html(b""), None);
    }

    #[test]
    fn html_only_mail_gets_structured_text() {
        let raw = b"From: a@example.org\nContent-Type: text/html; charset=utf-8\n\n\
<p>See <a href=\"https://example.org/r\">the report</a>:</p><ul><li>one</li><li>two</li></ul>";
        let m = crate::parse(raw);
        assert_eq!(
            m.body_text,
            "See the report <https://example.org/r>:\n\n- one\n- two"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(s in ".{0,400}") {
            let text = to_text(&s);
            proptest::prop_assert!(text.len() <= MAX_TEXT_BYTES);
            assert_inert(&s, &sanitize(&s));
        }

        #[test]
        fn never_panics_on_tag_soup(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "<p>", "</p>", "<br>", "<ul>", "<ol start=-9223372036854775808>", "<li value=9223372036854775807>",
                "</li>", "</ul>", "<table>", "<tr>", "<td>", "</td>", "</table>", "<blockquote>",
                "</blockquote>", "<pre>", "</pre>", "<a href='https://x.example/'>", "<a href=mailto:>",
                "</a>", "<img alt=i src=//x>", "<script>", "</script>", "<svg onload=x>", "<style>",
                "<!--", "-->", "&nbsp;", "&amp", "text", " ", "\n", "<math><mi xlink:href=javascript:x>",
                "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
                "<form><button formaction=javascript:x>", "<select><template><style>",
            ]), 0..60)
        ) {
            let html = parts.concat();
            let text = to_text(&html);
            proptest::prop_assert!(text.len() <= MAX_TEXT_BYTES);
            assert_inert(&html, &sanitize(&html));
        }
    }
}
