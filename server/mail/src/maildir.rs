//! Maildir conventions: the flags in a message file's name and how a Maildir
//! directory is recognised (<https://cr.yp.to/proto/maildir.html>).

use std::path::Path;

/// Returns the Homepost tags for the standard flags in a Maildir file name's
/// info suffix (`":2,FLAGS"`, or `"!2,FLAGS"` / `";2,FLAGS"` / `",2,FLAGS"` as
/// written where `:` is not allowed in file names, e.g. by mbsync on Windows or
/// a copy through a Windows share): S read, F flagged, R replied, T trash, D
/// draft, P passed.
/// Unknown flags and lowercase (keyword) flags are ignored; each tag appears
/// once, in the order of its flag.
pub fn flag_tags(file_name: &str) -> Vec<&'static str> {
    let Some(flags) = info_flags(file_name) else {
        return Vec::new();
    };
    let mut tags = Vec::new();
    for flag in flags.chars() {
        let tag = match flag {
            'S' => "read",
            'F' => "flagged",
            'R' => "replied",
            'T' => "trash",
            'D' => "draft",
            'P' => "passed",
            _ => continue,
        };
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// The flag letters after the last `:2,`, `!2,` or `;2,` in `file_name`, or
/// after a last `,2,` (written by tools that replace every `:`) when only
/// letters follow it: a `,` also separates the name's `S=size` fields.
fn info_flags(file_name: &str) -> Option<&str> {
    let comma = file_name
        .rfind(",2,")
        .filter(|&at| file_name[at + 3..].bytes().all(|b| b.is_ascii_alphabetic()));
    let start = [":2,", "!2,", ";2,"]
        .iter()
        .filter_map(|separator| file_name.rfind(separator))
        .chain(comma)
        .max()?;
    file_name.get(start + 3..)
}

/// Whether `dir` is a Maildir: it has a `cur` or a `new` subdirectory.
pub fn is_maildir(dir: &Path) -> bool {
    dir.join("cur").is_dir() || dir.join("new").is_dir()
}

#[cfg(test)]
mod tests {
    use super::{flag_tags, is_maildir};

    #[test]
    fn maps_every_standard_flag() {
        assert_eq!(
            flag_tags("1700000000.M1P2.host,S=123:2,DFPRST"),
            ["draft", "flagged", "passed", "replied", "read", "trash"]
        );
    }

    #[test]
    fn accepts_bang_separator() {
        assert_eq!(flag_tags("1700000000.M1P2.host!2,FS"), ["flagged", "read"]);
    }

    #[test]
    fn accepts_semicolon_separator() {
        assert_eq!(
            flag_tags("1276533073.M242911P3632.kurkku;2,FP"),
            ["flagged", "passed"]
        );
    }

    #[test]
    fn ignores_unknown_and_keyword_flags_and_duplicates() {
        assert_eq!(flag_tags("msg:2,SaZbS"), ["read"]);
    }

    #[test]
    fn no_info_suffix_means_no_tags() {
        assert!(flag_tags("1700000000.M1P2.host").is_empty());
        assert!(flag_tags("msg-3-3:2,").is_empty());
        assert!(flag_tags("msg:1,S").is_empty());
    }

    #[test]
    fn accepts_comma_separator_only_before_flag_letters() {
        assert_eq!(
            flag_tags("1700000000.M1P2.host,S=123,2,FS"),
            ["flagged", "read"]
        );
        assert_eq!(
            flag_tags("1700000000.M1P2.host,S=123,2,"),
            Vec::<&str>::new()
        );
        // `,2,` followed by more of the name is not an info suffix.
        assert!(flag_tags("1700000000.M1P2.host,2,S=123").is_empty());
        assert!(flag_tags("1700000000.M1P2,2,host.example").is_empty());
    }

    #[test]
    fn uses_the_last_info_suffix() {
        assert_eq!(flag_tags("odd:2,S.host:2,F"), ["flagged"]);
    }

    #[test]
    fn recognises_maildirs_by_cur_or_new() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        assert!(!is_maildir(dir.path()));
        std::fs::create_dir(dir.path().join("tmp"))?;
        assert!(!is_maildir(dir.path()));
        std::fs::create_dir(dir.path().join("new"))?;
        assert!(is_maildir(dir.path()));
        // A file called "cur" is not a maildir subdirectory.
        let other = tempfile::tempdir()?;
        std::fs::write(other.path().join("cur"), b"x")?;
        assert!(!is_maildir(other.path()));
        Ok(())
    }
}
