//! `QualifiedName`: the shared text of a keyword or symbol (`namespace/name` or `name`) in 24
//! bytes, so that `Edn` stays small and cloning one is a reference-count increment.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// `ns_len` value saying that the namespace is too long for a `u32`: its length is then written
/// in decimal, [`LONG_DIGITS`] wide, at the end of the text (after the name).
const LONG: u32 = u32::MAX;

/// Width of the decimal namespace length kept at the end of a long namespace's text; enough
/// for any `usize` of a 64-bit target.
const LONG_DIGITS: usize = 20;

/// The longest namespace whose length is kept inline (every shorter value of `ns_len` than
/// [`LONG`] is a real length).
const MAX_INLINE_NS: usize = LONG as usize - 1;

/// An optional namespace and a name.
///
/// Equality and hash are those of the pair (namespace, name) because the representation is a
/// function of the pair: the text layout is chosen only by the namespace's length. Order is by
/// namespace (none first), then name.
#[derive(Clone)]
pub(crate) struct QualifiedName {
    /// `namespace/name`, or just `name`; for a long namespace (see [`LONG`]) followed by the
    /// namespace's length in [`LONG_DIGITS`] decimal digits.
    text: Arc<str>,
    /// Invariant: `None` when there is no namespace; `Some(n)` with `n < LONG` when `text[..n]`
    /// is the namespace and `text[n]` the `/` before the name; `Some(LONG)` for the long form.
    ns_len: Option<u32>,
}

impl QualifiedName {
    pub(crate) fn new(namespace: Option<&str>, name: &str) -> Self {
        Self::with_max_inline(namespace, name, MAX_INLINE_NS)
    }

    /// [`QualifiedName::new`] with the long form used for namespaces longer than `max_inline`
    /// bytes (a parameter so that tests can reach the long form without gigabytes of text).
    fn with_max_inline(namespace: Option<&str>, name: &str, max_inline: usize) -> Self {
        let Some(ns) = namespace else {
            return QualifiedName {
                text: Arc::from(name),
                ns_len: None,
            };
        };
        let long = ns.len() > max_inline;
        let extra = if long { LONG_DIGITS } else { 0 };
        let mut text = String::with_capacity(ns.len() + 1 + name.len() + extra);
        text.push_str(ns);
        text.push('/');
        text.push_str(name);
        let ns_len = match u32::try_from(ns.len()) {
            Ok(n) if !long => n,
            _ => {
                text.push_str(&format!("{:0width$}", ns.len(), width = LONG_DIGITS));
                LONG
            }
        };
        QualifiedName {
            text: Arc::from(text),
            ns_len: Some(ns_len),
        }
    }

    /// Where the namespace ends and where the name ends, in `text`.
    fn split(&self) -> Option<(usize, usize)> {
        let n = self.ns_len?;
        if n != LONG {
            return Some((n as usize, self.text.len()));
        }
        let digits_at = self.text.len() - LONG_DIGITS;
        // Always present: the long form is only built with the digits appended.
        let ns = self.text[digits_at..].parse::<usize>().unwrap_or(0);
        Some((ns, digits_at))
    }

    pub(crate) fn namespace(&self) -> Option<&str> {
        self.split().map(|(ns, _)| &self.text[..ns])
    }

    pub(crate) fn name(&self) -> &str {
        match self.split() {
            None => &self.text,
            Some((ns, end)) => &self.text[ns + 1..end],
        }
    }

    /// Whether this is `namespace/name`, with `""` standing for no namespace.
    pub(crate) fn is(&self, namespace: &str, name: &str) -> bool {
        self.namespace().unwrap_or("") == namespace && self.name() == name
    }

    /// Whether this has no namespace and its name is `name`.
    pub(crate) fn is_plain(&self, name: &str) -> bool {
        self.ns_len.is_none() && &*self.text == name
    }

    /// Whether this has no namespace and its name starts with `prefix`.
    pub(crate) fn is_plain_prefixed(&self, prefix: char) -> bool {
        self.ns_len.is_none() && self.text.starts_with(prefix)
    }

    /// Whether `self` and `other` share their text (then they are equal): a fast check before
    /// comparing.
    fn same(&self, other: &Self) -> bool {
        self.ns_len == other.ns_len && Arc::ptr_eq(&self.text, &other.text)
    }
}

impl PartialEq for QualifiedName {
    fn eq(&self, other: &Self) -> bool {
        self.ns_len == other.ns_len
            && (Arc::ptr_eq(&self.text, &other.text) || self.text == other.text)
    }
}

impl Eq for QualifiedName {}

impl Ord for QualifiedName {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.same(other) {
            return Ordering::Equal;
        }
        (self.namespace(), self.name()).cmp(&(other.namespace(), other.name()))
    }
}

impl PartialOrd for QualifiedName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for QualifiedName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Equal names have equal text and `ns_len`.
        self.text.hash(state);
        self.ns_len.hash(state);
    }
}

impl fmt::Debug for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for QualifiedName {
    /// `namespace/name` or `name`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ns_len {
            Some(LONG) => write!(f, "{}/{}", self.namespace().unwrap_or(""), self.name()),
            _ => f.write_str(&self.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{QualifiedName, LONG};

    #[test]
    fn parts_round_trip_and_order_puts_no_namespace_first() {
        let a = QualifiedName::new(None, "z");
        let b = QualifiedName::new(Some("a"), "b/c");
        assert_eq!((a.namespace(), a.name()), (None, "z"));
        assert_eq!((b.namespace(), b.name()), (Some("a"), "b/c"));
        assert!(a < b);
        assert!(QualifiedName::new(Some("a"), "b") < QualifiedName::new(Some("a.b"), "a"));
        assert!(QualifiedName::new(Some(""), "x") > QualifiedName::new(None, "x"));
        // Namespace "a" with name "b" is not the name "a/b".
        assert_ne!(
            QualifiedName::new(Some("a"), "b"),
            QualifiedName::new(None, "a/b")
        );
        assert!(QualifiedName::new(None, "a/b").is_plain("a/b"));
        assert!(!QualifiedName::new(Some("a"), "b").is_plain("a/b"));
        assert_eq!(b.to_string(), "a/b/c");
    }

    #[test]
    fn long_namespaces_keep_their_parts() {
        let long = |ns: &str, name: &str| QualifiedName::with_max_inline(Some(ns), name, 3);
        let x = long("abcdef", "g/h");
        assert_eq!(x.ns_len, Some(LONG));
        assert_eq!((x.namespace(), x.name()), (Some("abcdef"), "g/h"));
        assert_eq!(x.to_string(), "abcdef/g/h");
        assert!(x.is("abcdef", "g/h"));
        assert_eq!(x, long("abcdef", "g/h"));
        assert_ne!(x, long("abcdef/g", "h"));
        assert!(long("abcd", "z") < long("abcde", "a"));
        assert!(long("abcd", "a") < long("abcd", "b"));
        // A namespace within the limit keeps the short form.
        let short = QualifiedName::with_max_inline(Some("abc"), "d", 3);
        assert_eq!(short.ns_len, Some(3));
        assert_eq!(short.to_string(), "abc/d");
    }
}
