//! The checkout the tests run from, and the shared test corpus beside it
//! (`<root>/shared/corpus` for a checkout at `<root>/main`): real-world mail,
//! OpenPGP material and spam collections from other projects. A missing corpus
//! is a failure, not a skip.

use std::path::PathBuf;

/// The root of the checkout the test runs from. Cargo gives a running test its
/// package's directory (`server/<crate>`); it is read at run time because a
/// test binary may be reused from another checkout, and this crate's own
/// directory (at the same depth) stands in when the test is run by hand.
pub fn checkout() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest.join("../..")
}

/// `rel` inside the shared corpus (`""` for the corpus itself); panics when
/// the corpus is not there.
pub fn path(rel: &str) -> PathBuf {
    let corpus = checkout().join("../shared/corpus");
    assert!(
        corpus.is_dir(),
        "test corpora missing: expected them at {}; check out shared/ beside the repository",
        corpus.display()
    );
    corpus.join(rel)
}
