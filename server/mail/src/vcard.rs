//! vCard (RFC 6350, version 4.0, and RFC 2426, version 3.0): reading the
//! cards of an address-book export and writing cards in 4.0.
//!
//! Only what an address book of correspondents keeps is read into fields (the
//! name, e-mail addresses, telephone numbers and a note); every other
//! property is kept as its unfolded content line, so that nothing the user had
//! is dropped on the way through Homepost, except inline binary data (3.0
//! `ENCODING=b` photos and keys), which is named in [`Card::dropped`].
//!
//! The reader is strict about the structure (`BEGIN`/`END`, `VERSION`, the
//! content-line syntax) and reports a bad card with its position and the
//! reason, without stopping at it; it is lenient where real exporters differ
//! (bare 3.0 type parameters, lower-case names, LF line ends, unknown
//! escapes). It is pure and fuzzed (`fuzz/fuzz_targets/vcard.rs`).

use serde::Serialize;

/// Longest content line written before folding, in octets (RFC 6350 3.2).
const FOLD_AT: usize = 75;

/// Longest other property kept (a 4.0 photo as a `data:` URI is not).
const MAX_EXTRA_LINE: usize = 8 * 1024;

/// One card as read, or as it is to be written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Card {
    /// The formatted name (`FN`), or one made from `N` when `FN` is empty.
    pub name: String,
    /// E-mail addresses (`EMAIL`), in the card's order.
    pub emails: Vec<String>,
    /// Telephone numbers (`TEL`), as written (a `tel:` URI's number).
    pub phones: Vec<String>,
    /// The notes (`NOTE`), joined by a blank line when there are several.
    pub note: String,
    /// Every other property, as its unfolded content line (`ORG:Example`,
    /// `item1.X-ABLabel:home`), written back as it is.
    pub extra: Vec<String>,
    /// Properties that were not kept, by name (inline binary data).
    pub dropped: Vec<String>,
}

/// A card read from a file, with where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadCard {
    /// Its position in the file, from 1.
    pub position: usize,
    /// The line its `BEGIN:VCARD` is on, from 1.
    pub line: usize,
    /// What it holds.
    pub card: Card,
}

/// Why a card (or text outside any card) was not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CardProblem {
    /// The card's position in the file, from 1; 0 for text outside any card.
    pub card: usize,
    /// The line (from 1, counting the file's physical lines) where it was found.
    pub line: usize,
    /// What is wrong, in plain words.
    pub reason: String,
}

/// One logical line: unfolded, with the physical line it started on.
struct Logical {
    line: usize,
    text: String,
}

/// Splits `text` into logical lines: CRLF, LF or a lone CR ends a line, and a
/// line that starts with a space or a tab continues the one before (the fold
/// removed). A lone CR counts as a line end so that no value holds one (the
/// writer could not write it back).
fn unfold(text: &str) -> Vec<Logical> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out: Vec<Logical> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        if let Some(rest) = raw.strip_prefix([' ', '\t'])
            && let Some(last) = out.last_mut()
        {
            last.text.push_str(rest);
            continue;
        }
        out.push(Logical {
            line: i + 1,
            text: raw.to_string(),
        });
    }
    out
}

/// A content line taken apart: `group.NAME;param=value:value`.
#[derive(Debug)]
struct Property<'a> {
    name: String,
    /// Parameter names upper-cased, each with its values; a bare 3.0 value
    /// (`TEL;CELL:`) is a `TYPE`.
    params: Vec<(String, Vec<String>)>,
    value: &'a str,
}

impl Property<'_> {
    fn param(&self, name: &str) -> Option<&[String]> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// Parses one content line (RFC 6350 3.3), or says what is wrong with it.
fn property(line: &str) -> Result<Property<'_>, String> {
    let mut in_quotes = false;
    let mut colon = None;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ':' if !in_quotes => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let Some(colon) = colon else {
        return Err("a line without ':' between its name and value".into());
    };
    let (head, value) = (&line[..colon], &line[colon + 1..]);
    let mut parts = split_unquoted(head, ';').into_iter();
    let full_name = parts.next().unwrap_or_default();
    let name = full_name.rsplit('.').next().unwrap_or_default();
    let name_ok =
        |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !name_ok(name) || !full_name.split('.').all(name_ok) || full_name.split('.').count() > 2 {
        return Err(format!("{full_name:?} is not a property name"));
    }
    let mut params = Vec::new();
    for p in parts {
        let (pname, pvalue) = match p.split_once('=') {
            Some((n, v)) => (n.trim().to_ascii_uppercase(), v),
            None => ("TYPE".to_string(), p),
        };
        if !name_ok(&pname) {
            return Err(format!("{pname:?} is not a parameter name"));
        }
        let values = split_unquoted(pvalue, ',')
            .into_iter()
            .map(|v| v.trim_matches('"').to_string())
            .collect();
        params.push((pname, values));
    }
    Ok(Property {
        name: name.to_ascii_uppercase(),
        params,
        value,
    })
}

/// Splits on `sep` outside double quotes.
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if c == sep && !in_quotes {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// Splits a structured value on `sep` where it is not escaped by a backslash.
fn split_escaped(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            out.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&s[start..]);
    out
}

/// Undoes text escaping (RFC 6350 3.4): `\n` and `\N` are a new line, `\\`,
/// `\,`, `\;` the character itself; any other escaped character stands for
/// itself (some exporters escape ':').
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Escapes a text value for writing (RFC 6350 3.4).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            c => out.push(c),
        }
    }
    out
}

/// A name made from the components of `N` (family; given; additional;
/// prefixes; suffixes): "prefixes given additional family suffixes".
fn name_from_n(value: &str) -> String {
    let parts: Vec<String> = split_escaped(value, ';')
        .into_iter()
        .map(|p| {
            split_escaped(p, ',')
                .into_iter()
                .map(|s| unescape(s).trim().to_string())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let at = |i: usize| parts.get(i).map_or("", String::as_str);
    [at(3), at(1), at(2), at(0), at(4)]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a card holds so far, while its lines are read.
#[derive(Default)]
struct Partial {
    card: Card,
    version: Option<String>,
    n: Option<String>,
    notes: Vec<String>,
}

impl Partial {
    fn take(&mut self, p: &Property<'_>, line: &str) -> Result<(), String> {
        let encoding = p
            .param("ENCODING")
            .and_then(|v| v.first())
            .map(|e| e.to_ascii_uppercase());
        match encoding.as_deref() {
            None | Some("8BIT") => {}
            Some("B" | "BASE64") => {
                self.card.dropped.push(p.name.clone());
                return Ok(());
            }
            Some(other) => {
                return Err(format!(
                    "{} has encoding {other}, which vCard 3.0 and 4.0 do not use",
                    p.name
                ));
            }
        }
        match p.name.as_str() {
            "VERSION" => self.version = Some(p.value.trim().to_string()),
            "FN" => {
                if self.card.name.is_empty() {
                    self.card.name = unescape(p.value).trim().to_string();
                }
            }
            "N" => {
                // Kept as it is too: the structured name goes back out on export.
                self.n = Some(p.value.to_string());
                self.card.extra.push(line.to_string());
            }
            "EMAIL" => {
                let email = unescape(p.value).trim().to_string();
                if !email.is_empty() {
                    self.card.emails.push(email);
                }
            }
            "TEL" => {
                let v = unescape(p.value);
                let v = v.trim();
                // A `tel:` URI's number; a text value (as written here) is kept whole.
                let text = p
                    .param("VALUE")
                    .is_some_and(|v| v.iter().any(|t| t.eq_ignore_ascii_case("text")));
                let v = if text {
                    v
                } else {
                    v.strip_prefix("tel:").unwrap_or(v).trim()
                };
                if !v.is_empty() {
                    self.card.phones.push(v.to_string());
                }
            }
            "NOTE" => {
                let note = unescape(p.value).trim().to_string();
                if !note.is_empty() {
                    self.notes.push(note);
                }
            }
            "PRODID" | "REV" => {}
            _ if line.len() > MAX_EXTRA_LINE => self.card.dropped.push(p.name.clone()),
            _ => self.card.extra.push(line.to_string()),
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Card, String> {
        match self.version.as_deref() {
            Some("3.0" | "4.0") => {}
            Some("2.1") => {
                return Err(
                    "vCard 2.1 is not read: export the contacts as vCard 3.0 or 4.0".into(),
                );
            }
            Some(v) => return Err(format!("vCard version {v:?} is not known")),
            None => return Err("the card has no VERSION".into()),
        }
        if self.card.name.is_empty()
            && let Some(n) = &self.n
        {
            self.card.name = name_from_n(n);
        }
        if self.card.name.is_empty() && self.card.emails.is_empty() && self.card.phones.is_empty() {
            return Err("the card has no name, e-mail address or telephone number".into());
        }
        self.card.note = self.notes.join("\n\n");
        Ok(self.card)
    }
}

/// Takes one line inside a card into `p`.
fn read_line(p: &mut Partial, text: &str, is_begin: bool) -> Result<(), String> {
    if is_begin {
        return Err("a card inside a card, or a card without END:VCARD".into());
    }
    if text.trim().is_empty() {
        return Ok(());
    }
    let prop = property(text)?;
    p.take(&prop, text)
}

/// Reads every card of `text` (a `.vcf` file), in order: each is a card or
/// the reason it was not read. Text outside cards is reported (card 0) and
/// blank lines between cards are allowed.
pub fn parse_cards(text: &str) -> Vec<Result<ReadCard, CardProblem>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut count = 0;
    // The card being read: its position, first line, content, or the first
    // problem found in it (the rest of it is then skipped).
    let mut current: Option<(usize, usize, Result<Partial, CardProblem>)> = None;
    for l in unfold(text) {
        let trimmed = l.text.trim();
        let is_begin = trimmed.eq_ignore_ascii_case("BEGIN:VCARD");
        let is_end = trimmed.eq_ignore_ascii_case("END:VCARD");
        match current.take() {
            None => {
                if is_begin {
                    count += 1;
                    current = Some((count, l.line, Ok(Partial::default())));
                } else if !trimmed.is_empty() {
                    out.push(Err(CardProblem {
                        card: 0,
                        line: l.line,
                        reason: "text outside a card (BEGIN:VCARD ... END:VCARD)".into(),
                    }));
                }
            }
            Some((n, start, state)) => {
                if is_end {
                    out.push(state.and_then(|p| {
                        p.finish()
                            .map(|card| ReadCard {
                                position: n,
                                line: start,
                                card,
                            })
                            .map_err(|reason| CardProblem {
                                card: n,
                                line: start,
                                reason,
                            })
                    }));
                    continue;
                }
                let state = state.and_then(|mut p| {
                    read_line(&mut p, &l.text, is_begin)
                        .map(|()| p)
                        .map_err(|reason| CardProblem {
                            card: n,
                            line: l.line,
                            reason,
                        })
                });
                current = Some((n, start, state));
            }
        }
    }
    if let Some((n, start, state)) = current {
        out.push(Err(state.err().unwrap_or(CardProblem {
            card: n,
            line: start,
            reason: "the card has no END:VCARD".into(),
        })));
    }
    out
}

/// Writes `card` as a vCard 4.0 (CRLF line ends, lines folded at 75 octets).
/// A card must have a formatted name: the first address, else the first
/// number, stands in when the name is empty.
pub fn write_card(card: &Card) -> String {
    let mut out = String::new();
    let name = [
        &card.name,
        card.emails.first().unwrap_or(&String::new()),
        card.phones.first().unwrap_or(&String::new()),
    ]
    .into_iter()
    .find(|s| !s.trim().is_empty())
    .cloned()
    .unwrap_or_default();
    push_line(&mut out, "BEGIN:VCARD");
    push_line(&mut out, "VERSION:4.0");
    push_line(&mut out, &format!("FN:{}", escape(&name)));
    for (i, e) in card.emails.iter().enumerate() {
        let pref = if i == 0 && card.emails.len() > 1 {
            ";PREF=1"
        } else {
            ""
        };
        push_line(&mut out, &format!("EMAIL{pref}:{}", escape(e)));
    }
    for t in &card.phones {
        push_line(&mut out, &format!("TEL;VALUE=text:{}", escape(t)));
    }
    if !card.note.is_empty() {
        push_line(&mut out, &format!("NOTE:{}", escape(&card.note)));
    }
    for x in &card.extra {
        push_line(&mut out, x);
    }
    push_line(&mut out, "END:VCARD");
    out
}

/// Appends one content line, folded: no physical line longer than 75
/// octets, never splitting a character, each continuation starting with a
/// space.
fn push_line(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if c == '\r' || c == '\n' {
            continue;
        }
        if width + c.len_utf8() > FOLD_AT {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests;
