//! `Keyword` and `Symbol`: names behind shared text, so that cloning one (result maps, join
//! rows, attribute idents, query variables) is a reference-count increment, not string copies.

use std::fmt;

use crate::qualified::QualifiedName;

/// A keyword: `:name` or `:namespace/name`.
///
/// Equality, order and hash are those of the pair (namespace, name), keywords without a
/// namespace ordering first; cloning shares the text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Keyword(QualifiedName);

impl Keyword {
    /// A keyword with an optional namespace.
    pub fn new(namespace: Option<&str>, name: &str) -> Self {
        Keyword(QualifiedName::new(namespace, name))
    }

    /// The namespace, if any.
    pub fn namespace(&self) -> Option<&str> {
        self.0.namespace()
    }

    /// The name.
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// Whether this keyword is `:namespace/name` (pass `""` for a keyword without namespace).
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        self.0.is(namespace, name)
    }
}

impl fmt::Debug for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keyword({self})")
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, ":{}", self.0)
    }
}

/// A symbol: `name` or `namespace/name`.
///
/// Equality, order and hash are those of the pair (namespace, name), symbols without a
/// namespace ordering first; cloning shares the text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Symbol(QualifiedName);

impl Symbol {
    /// A symbol with an optional namespace. The symbol `/` has no namespace and the name `/`.
    pub fn new(namespace: Option<&str>, name: &str) -> Self {
        Symbol(QualifiedName::new(namespace, name))
    }

    /// The part before the `/`, if any (`clojure.string` in `clojure.string/blank?`).
    pub fn namespace(&self) -> Option<&str> {
        self.0.namespace()
    }

    /// The part after the `/`, or the whole symbol.
    pub fn name(&self) -> &str {
        self.0.name()
    }

    /// Whether this symbol is `namespace/name` (pass `""` for a symbol without namespace).
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        self.0.is(namespace, name)
    }

    /// A Datalog variable: a symbol without namespace whose name starts with `?`.
    pub fn is_var(&self) -> bool {
        self.0.is_plain_prefixed('?')
    }

    /// A Datalog source variable: a symbol without namespace whose name starts with `$`.
    pub fn is_src_var(&self) -> bool {
        self.0.is_plain_prefixed('$')
    }

    /// The Datalog rules variable `%`.
    pub fn is_rules_var(&self) -> bool {
        self.0.is_plain("%")
    }

    /// The Datalog placeholder `_`.
    pub fn is_placeholder(&self) -> bool {
        self.0.is_plain("_")
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Symbol({self})")
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::{Keyword, Symbol};

    #[test]
    fn keywords_and_symbols_print_and_compare_by_parts() {
        let b = Keyword::new(Some("a"), "b/c");
        assert_eq!((b.namespace(), b.name()), (Some("a"), "b/c"));
        assert!(Keyword::new(None, "z") < b);
        assert_eq!(b.clone(), Keyword::new(Some("a"), "b/c"));
        assert_eq!(b.to_string(), ":a/b/c");
        let s = Symbol::new(Some("clojure.string"), "blank?");
        assert_eq!(
            (s.namespace(), s.name()),
            (Some("clojure.string"), "blank?")
        );
        assert_eq!(s.to_string(), "clojure.string/blank?");
        assert!(Symbol::new(None, "z") < Symbol::new(Some("a"), "a"));
        assert!(Symbol::new(None, "?x").is_var());
        assert!(!Symbol::new(Some("a"), "?x").is_var());
        assert!(Symbol::new(None, "$src").is_src_var());
        assert!(Symbol::new(None, "_").is_placeholder());
        assert!(!Symbol::new(None, "_x").is_placeholder());
        assert!(Symbol::new(None, "%").is_rules_var());
        assert_eq!(format!("{s:?}"), "Symbol(clojure.string/blank?)");
    }
}
