//! Parsing HTML as a browser would, within a budget of tree-building work, so
//! that hostile nesting cannot make a mail take hours to show.

use std::borrow::Cow;
use std::cell::{Cell, Ref};
use std::rc::Rc;

use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{Attribute, QualName};
use scraper::{Html, HtmlTreeSink};

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
pub(super) const MAX_FORMATTING_TAGS: usize = 10_000;

/// How many start tags of [`FORMATTING_ELEMENTS`] `html` has (an upper bound:
/// tags in comments and scripts count too).
pub(super) fn formatting_tags(html: &str) -> usize {
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
