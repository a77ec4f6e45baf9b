//! Homepost tags made from Sieve folder names and flag keywords.

use super::conditions::short;
use super::query::Query;

/// Longest tag, in characters.
const MAX_TAG_CHARS: usize = 64;

/// Whether `tag` is a tag Homepost accepts: non-empty, at most 64 characters, no
/// white space, control character or `"`, not starting with `+` or `-`. Returns
/// why not.
pub(crate) fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("an empty name cannot be a tag".into());
    }
    if tag.chars().count() > MAX_TAG_CHARS {
        return Err(format!(
            "\"{}\" is longer than {MAX_TAG_CHARS} characters, too long for a tag",
            short(tag)
        ));
    }
    if tag
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '"')
    {
        return Err(format!(
            "\"{}\" cannot be a tag: tags hold no spaces, control characters or quotes",
            short(tag)
        ));
    }
    if tag.starts_with(['+', '-']) {
        return Err(format!(
            "\"{}\" cannot be a tag: tags do not start with + or -",
            short(tag)
        ));
    }
    Ok(())
}

/// The tag for a flag keyword: lowercase, a leading `$` removed (`$Label1` is
/// `label1`).
pub(crate) fn tag_from_keyword(keyword: &str) -> Result<String, String> {
    let tag = keyword.strip_prefix('$').unwrap_or(keyword).to_lowercase();
    check_tag(&tag)?;
    Ok(tag)
}

/// The tag for a folder name: lowercase, spaces turned into `-`, `/` and `.` kept.
pub(crate) fn tag_from_folder(folder: &str) -> Result<String, String> {
    let tag = folder.to_lowercase().replace(' ', "-");
    check_tag(&tag)?;
    Ok(tag)
}

/// `tag:x`, quoted when the tag holds a character the search language reads
/// specially (parentheses, a backslash).
pub(crate) fn tag_term(tag: &str) -> Query {
    if tag.contains(['(', ')', '\\']) {
        let escaped = tag.replace('\\', "\\\\");
        Query::term(format!("tag:\"{escaped}\""))
    } else {
        Query::term(format!("tag:{tag}"))
    }
}
