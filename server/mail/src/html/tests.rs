//! Unit tests of the plain text and the formatted view of HTML bodies.

use std::path::Path;

use homepost_testing::corpus;
use scraper::Html;

use super::bounded_parse::{MAX_FORMATTING_TAGS, formatting_tags};
use super::sanitizer::is_inline_image;
use super::*;

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
        out.contains("src=\"data:image/png;base64,iVBORw0KGgo=\"") && out.contains("alt=\"ok\""),
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
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| Some(entry.get(key)?.as_str()?.to_owned()))
        .collect()
}

#[test]
fn sanitize_defeats_dompurify_and_h5sc_vectors() {
    let xss = corpus::path("xss");
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
