//! `Keyword`: a keyword's text behind a shared pointer, so that cloning one (result maps,
//! join rows, attribute idents) is a reference-count increment, not two string copies.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// A keyword: `:name` or `:namespace/name`.
///
/// Equality, order and hash are those of the pair (namespace, name), keywords without a
/// namespace ordering first; cloning shares the text.
#[derive(Clone)]
pub struct Keyword {
    /// `namespace/name`, or just `name`.
    text: Arc<str>,
    /// The namespace's length in bytes when there is one. Invariant: when `Some(n)`,
    /// `text[..n]` is the namespace and `text[n]` is the `/` before the name.
    ns_len: Option<usize>,
}

impl Keyword {
    /// A keyword with an optional namespace.
    pub fn new(namespace: Option<&str>, name: &str) -> Self {
        match namespace {
            None => Keyword {
                text: Arc::from(name),
                ns_len: None,
            },
            Some(ns) => {
                let mut text = String::with_capacity(ns.len() + 1 + name.len());
                text.push_str(ns);
                text.push('/');
                text.push_str(name);
                Keyword {
                    text: Arc::from(text),
                    ns_len: Some(ns.len()),
                }
            }
        }
    }

    /// The namespace, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.ns_len.map(|n| &self.text[..n])
    }

    /// The name.
    pub fn name(&self) -> &str {
        match self.ns_len {
            None => &self.text,
            Some(n) => &self.text[n + 1..],
        }
    }

    /// Whether this keyword is `:namespace/name` (pass `""` for a keyword without namespace).
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        self.namespace().unwrap_or("") == namespace && self.name() == name
    }

    /// Whether `self` and `other` share their text (then they are equal); a fast check
    /// before comparing.
    fn same_text(&self, other: &Keyword) -> bool {
        Arc::ptr_eq(&self.text, &other.text)
    }
}

impl PartialEq for Keyword {
    fn eq(&self, other: &Self) -> bool {
        self.ns_len == other.ns_len && (self.same_text(other) || self.text == other.text)
    }
}

impl Eq for Keyword {}

impl Ord for Keyword {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.same_text(other) && self.ns_len == other.ns_len {
            return Ordering::Equal;
        }
        (self.namespace(), self.name()).cmp(&(other.namespace(), other.name()))
    }
}

impl PartialOrd for Keyword {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Keyword {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Equal keywords have equal text and namespace length.
        self.text.hash(state);
        self.ns_len.hash(state);
    }
}

impl fmt::Debug for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keyword({self})")
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ":{}", self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::Keyword;

    #[test]
    fn parts_round_trip_and_order_puts_no_namespace_first() {
        let a = Keyword::new(None, "z");
        let b = Keyword::new(Some("a"), "b/c");
        assert_eq!((a.namespace(), a.name()), (None, "z"));
        assert_eq!((b.namespace(), b.name()), (Some("a"), "b/c"));
        assert!(a < b);
        assert!(Keyword::new(Some("a"), "b") < Keyword::new(Some("a.b"), "a"));
        assert!(Keyword::new(Some(""), "x") > Keyword::new(None, "x"));
        // `:a/b` with namespace "a" is not the keyword named "a/b".
        assert_ne!(Keyword::new(Some("a"), "b"), Keyword::new(None, "a/b"));
        assert_eq!(b.clone(), Keyword::new(Some("a"), "b/c"));
        assert_eq!(b.to_string(), ":a/b/c");
    }
}
