//! What recovery passed over at open: a meta page that may hold a newer commit than the one
//! the environment opened at, kept so the loss is reported and not silently overwritten.

use crate::error::Pgno;

/// A meta page that recovery did not take although it may describe a commit newer than the
/// one the file opened at. The file alone cannot tell whether that commit was acknowledged
/// (a crash came before its sync returned) or was acknowledged and damaged later; see
/// docs/FORMAT.md, "What recovery can and cannot tell apart".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedOver {
    /// The transaction id the passed-over meta page records. For [`PassReason::NotLanded`]
    /// it is covered by the meta's checksum; for the other reasons it is what the damaged
    /// page says, and may itself be damaged.
    pub txn_id: u64,
    /// The meta page (slot 0 or 1) passed over.
    pub meta_page: Pgno,
    /// Why it was not taken.
    pub reason: PassReason,
    /// The transaction the environment opened at instead.
    pub opened_at: u64,
}

/// Why recovery did not take a meta page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PassReason {
    /// A whole, checksum-valid meta of a single-sync commit whose listed pages do not hold
    /// what the commit wrote (the text says how).
    NotLanded(String),
    /// The meta page fails its checksum.
    Checksum,
    /// The meta page does not start with Levin's magic bytes.
    BadMagic,
    /// The meta page is valid under another format version's rule.
    Version(u32),
}

impl std::fmt::Display for PassReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PassReason::NotLanded(why) => write!(f, "{why}"),
            PassReason::Checksum => write!(f, "the meta page fails its checksum"),
            PassReason::BadMagic => write!(f, "the meta page lost its magic bytes"),
            PassReason::Version(v) => write!(f, "the meta page has format version {v}"),
        }
    }
}

impl std::fmt::Display for PassedOver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let claimed = match self.reason {
            PassReason::NotLanded(_) => "",
            _ => " (as far as its damaged page tells)",
        };
        write!(
            f,
            "recovery passed over transaction {}{claimed} in meta page {} and opened at \
             transaction {}: {}. Either a crash interrupted that commit before it was \
             acknowledged, or it was acknowledged and its pages were damaged since; the file \
             cannot tell which",
            self.txn_id, self.meta_page, self.opened_at, self.reason
        )
    }
}
