//! `Text`: the shared, immutable text of an EDN string, so that cloning a string value (a
//! query row copied through a join, a pulled map shared by many entities) is a
//! reference-count increment instead of an allocation and a copy.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// The text of an [`Edn::String`](crate::Edn::String): immutable and shared between clones.
///
/// It dereferences to `str`, so the `str` methods apply; equality, order and hashing are those
/// of the text, so a `Text` key is found by a `&str` in a map.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Arc<str>);

impl Text {
    /// The text as a `str`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Default for Text {
    fn default() -> Self {
        Text(Arc::from(""))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Arc::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Arc::from(s))
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Self {
        Text(Arc::from(s.as_str()))
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        String::from(&*t.0)
    }
}

impl FromIterator<char> for Text {
    fn from_iter<I: IntoIterator<Item = char>>(iter: I) -> Self {
        Text::from(iter.into_iter().collect::<String>())
    }
}

impl<'a> FromIterator<&'a char> for Text {
    fn from_iter<I: IntoIterator<Item = &'a char>>(iter: I) -> Self {
        Text::from(iter.into_iter().collect::<String>())
    }
}

impl<'a> FromIterator<&'a str> for Text {
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        Text::from(iter.into_iter().collect::<String>())
    }
}

impl FromIterator<String> for Text {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        Text::from(iter.into_iter().collect::<String>())
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Text;
    use std::collections::HashMap;

    #[test]
    fn a_clone_shares_the_text_and_compares_as_the_text() {
        let a = Text::from("Ivan");
        let b = a.clone();
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(a, "Ivan");
        assert_eq!(a, String::from("Ivan"));
        let later = Text::from("Oleg");
        assert!(a < later);
        assert_eq!(format!("{a} {a:?}"), "Ivan \"Ivan\"");
        assert_eq!(String::from(a), "Ivan");
    }

    #[test]
    fn a_map_keyed_by_text_is_searched_by_str() {
        let m: HashMap<Text, u32> = [(Text::from("k"), 1)].into_iter().collect();
        assert_eq!(m.get("k"), Some(&1));
        assert_eq!(m.get("x"), None);
    }
}
