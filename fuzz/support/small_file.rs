//! What the damaged-file targets share: the engine options of their small files, and a
//! scratch directory to write each input to.

use levin_engine::EnvOptions;

/// 512-byte pages (many pages from little data) and a small map.
pub fn opts() -> EnvOptions {
    EnvOptions::new().page_size(512).max_map_size(1 << 26)
}

/// A fresh directory, in memory when `/dev/shm` is there.
pub fn scratch() -> tempfile::TempDir {
    if std::path::Path::new("/dev/shm").is_dir() {
        if let Ok(d) = tempfile::tempdir_in("/dev/shm") {
            return d;
        }
    }
    tempfile::tempdir().expect("tempdir")
}
