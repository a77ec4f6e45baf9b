//! `homepost search --save`, `saved`, and `rules` (issue 22) on the terminal:
//! a saved search listed with its counts and deleted; a Sieve script carried
//! over with its unsupported line named, exported, and one rule run over the
//! stored mail only after --yes.

use crate::common::{Home, import, sample_mail};

#[test]
fn saved_searches_and_rules_on_the_terminal() {
    let home = Home::new();
    home.init();
    import(&home, &sample_mail(home.dir.path()));

    home.ok(&["search", "--save", "Alice", "from:alice@example.org"]);
    let listed = home.ok(&["saved"]);
    assert!(
        listed.contains("Alice\t1/2\tfrom:alice@example.org"),
        "{listed}"
    );
    let refused = home.run_with(crate::common::PASS, &["search", "--save", "alice", "x"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already"));
    home.ok(&["saved", "delete", "ALICE"]);
    assert_eq!(home.ok(&["saved"]), "");

    let sieve = home.path("filters.sieve");
    std::fs::write(
        &sieve,
        "require [\"fileinto\"];\n\
         # Reports\n\
         if header :contains \"subject\" \"quarterly\" { fileinto \"Reports\"; }\n\
         if header :is \"List-Id\" \"<x.example.org>\" { discard; }\n",
    )
    .unwrap();
    let path = sieve.display().to_string();
    let dry = home.ok(&["rules", "import", "--dry-run", &path]);
    assert!(dry.starts_with("would add 1 rules"), "{dry}");
    assert!(dry.contains("line 4: not carried over"), "{dry}");
    assert_eq!(home.ok(&["rules"]), "", "a dry run adds nothing");
    let added = home.ok(&["rules", "import", &path]);
    assert!(added.starts_with("added 1 rules"), "{added}");
    let list = home.ok(&["rules", "list"]);
    let id = list.split('\t').next().unwrap().to_owned();
    assert!(list.contains("Reports\tsubject:\"quarterly\""), "{list}");

    let export = home.ok(&["rules", "export"]);
    assert!(export.contains("fileinto \"reports\""), "{export}");

    // Asked first, with the count; then done.
    let n = home.count("subject:quarterly");
    assert!(n > 0);
    let asked = home.run_with(crate::common::PASS, &["rules", "run", &id]);
    assert!(!asked.status.success());
    assert!(
        String::from_utf8_lossy(&asked.stderr).contains(&format!("matches {n} stored messages"))
    );
    assert_eq!(home.count("tag:reports"), 0);
    let done = home.ok(&["rules", "run", "--yes", &id]);
    assert!(done.contains(&format!("changed {n} messages")), "{done}");
    assert_eq!(home.count("tag:reports"), n);
    assert_eq!(home.count("tag:reports in:inbox"), 0, "archived");
}
