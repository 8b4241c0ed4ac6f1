//! Reading EDN text into [`Edn`] values: [`read`], [`read_all`] and the streaming [`Reader`].
//!
//! The reader is iterative (an explicit stack, no recursion), never panics, and refuses input
//! nested deeper than a limit ([`DEFAULT_MAX_DEPTH`] unless set with
//! [`Reader::with_max_depth`]), so that the values it returns can be printed, compared and
//! dropped without exhausting the thread's stack.

use std::cmp::Ordering;

use super::error::{EdnError, EdnErrorKind as Kind, Malformed, Position};
use super::inst::parse_rfc3339;
use super::printer::abbreviate;
use super::uuid::parse_uuid;
use super::{BigDec, BigInt, Edn, Keyword, Symbol};

/// How deeply collections and tags may nest before reading fails with
/// [`EdnErrorKind::TooDeep`](super::EdnErrorKind::TooDeep).
///
/// Printing, comparing, hashing and dropping a value recurse once per level; at this depth
/// that needs under 1 MiB of stack even in an unoptimized build (threads get 2 MiB by default).
pub const DEFAULT_MAX_DEPTH: usize = 512;

/// Reads exactly one form from `text`. Whitespace, commas, comments and `#_` discarded forms
/// may surround it; anything else after it is an error.
///
/// ```
/// use levin_edn::{read, Edn};
///
/// assert_eq!(read(" ; a comment\n :a ").unwrap(), Edn::kw("", "a"));
/// let err = read("[1 2").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "line 1, column 5: expected ']' to close the vector opened at line 1, column 1, found end of input"
/// );
/// assert!(read("1 2").is_err());
/// ```
pub fn read(text: &str) -> Result<Edn, EdnError> {
    let mut reader = Reader::new(text);
    let Some((_, value)) = reader.read_form()? else {
        return Err(EdnError::new(
            Kind::UnexpectedEnd,
            reader.position(),
            "expected a form, found end of input",
        ));
    };
    match reader.read_form()? {
        None => Ok(value),
        Some((pos, extra)) => Err(EdnError::new(
            Kind::TrailingInput,
            pos,
            format!(
                "expected end of input after the form, found another form: {}",
                abbreviate(&extra, 40)
            ),
        )),
    }
}

/// Reads every form in `text`, in order.
///
/// ```
/// use levin_edn::{read_all, Edn};
///
/// assert_eq!(read_all("1 #_ 2 3").unwrap(), vec![Edn::Long(1), Edn::Long(3)]);
/// assert_eq!(read_all("  ").unwrap(), vec![]);
/// ```
pub fn read_all(text: &str) -> Result<Vec<Edn>, EdnError> {
    Reader::new(text)
        .map(|item| item.map(|(_, value)| value))
        .collect()
}

/// A streaming reader: yields the forms of a text one by one, each with the position where it
/// starts. After an error it yields nothing more.
///
/// ```
/// use levin_edn::{Edn, Reader};
///
/// let mut forms = Reader::new("{:a 1}\n  [x]");
/// let (pos, first) = forms.next().unwrap().unwrap();
/// assert_eq!((pos.line, pos.column), (1, 1));
/// assert_eq!(first.get(&Edn::kw("", "a")), Some(&Edn::Long(1)));
/// let (pos, _) = forms.next().unwrap().unwrap();
/// assert_eq!((pos.line, pos.column), (2, 3));
/// assert!(forms.next().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    src: &'a str,
    pos: Position,
    max_depth: usize,
    failed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SeqKind {
    List,
    Vector,
    Set,
}

impl SeqKind {
    fn close(self) -> char {
        match self {
            SeqKind::List => ')',
            SeqKind::Vector => ']',
            SeqKind::Set => '}',
        }
    }

    fn name(self) -> &'static str {
        match self {
            SeqKind::List => "list",
            SeqKind::Vector => "vector",
            SeqKind::Set => "set",
        }
    }
}

/// Something open on the reader's stack, waiting for more forms.
enum Frame {
    /// A list, vector or set. `positions` (sets only) holds where each element starts.
    Seq {
        kind: SeqKind,
        open: Position,
        items: Vec<Edn>,
        positions: Vec<Position>,
    },
    /// A map, optionally namespaced (`#:ns{...}`), with a key waiting for its value.
    Map {
        open: Position,
        namespace: Option<String>,
        entries: Vec<(Edn, Edn)>,
        key_positions: Vec<Position>,
        pending: Option<(Edn, Position)>,
    },
    /// `#tag`, waiting for the tagged form.
    Tag { at: Position, tag: Symbol },
    /// `#_`, waiting for the form to drop.
    Discard { at: Position },
}

/// What a `#` dispatch produced.
enum Dispatch {
    Value(Edn),
    Push(Frame),
}

/// Characters that end a token (symbol, keyword, number, character name).
fn is_delimiter(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            ',' | '(' | ')' | '[' | ']' | '{' | '}' | '"' | ';' | '\\'
        )
}

/// `'x'` for a character, `end of input` for none.
fn describe(c: Option<char>) -> String {
    match c {
        Some(c) => format!("{c:?}"),
        None => "end of input".to_owned(),
    }
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `text`, with the default depth limit.
    pub fn new(text: &'a str) -> Self {
        Reader {
            src: text,
            pos: Position::START,
            max_depth: DEFAULT_MAX_DEPTH,
            failed: false,
        }
    }

    /// Sets how deeply collections and tags may nest.
    pub fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Where the reader is: after the last form read (or at the error).
    pub fn position(&self) -> Position {
        self.pos
    }

    /// Reads the next form with its starting position; `Ok(None)` at the end of the text.
    /// After an error, returns `Ok(None)`.
    pub fn read_form(&mut self) -> Result<Option<(Position, Edn)>, EdnError> {
        if self.failed {
            return Ok(None);
        }
        let result = self.read_form_inner();
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos.offset..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.src[self.pos.offset..].chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos.offset += c.len_utf8();
        if c == '\n' {
            self.pos.line += 1;
            self.pos.column = 1;
        } else {
            self.pos.column += 1;
        }
        Some(c)
    }

    /// Skips whitespace, commas and `;` comments.
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c == ';' {
                while let Some(c) = self.bump() {
                    if c == '\n' {
                        break;
                    }
                }
            } else if c == ',' || c.is_whitespace() {
                self.bump();
            } else {
                return;
            }
        }
    }

    /// Consumes characters up to the next delimiter.
    fn take_token(&mut self) -> &'a str {
        let start = self.pos.offset;
        while let Some(c) = self.peek() {
            if is_delimiter(c) {
                break;
            }
            self.bump();
        }
        &self.src[start..self.pos.offset]
    }

    fn push(&self, stack: &mut Vec<Frame>, frame: Frame, at: Position) -> Result<(), EdnError> {
        if stack.len() >= self.max_depth {
            return Err(EdnError::new(
                Kind::TooDeep,
                at,
                format!("nesting deeper than {} levels", self.max_depth),
            ));
        }
        stack.push(frame);
        Ok(())
    }

    fn read_form_inner(&mut self) -> Result<Option<(Position, Edn)>, EdnError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut form_start = self.pos;
        loop {
            self.skip_ws();
            let start = self.pos;
            let Some(c) = self.peek() else {
                return match stack.last() {
                    None => Ok(None),
                    Some(frame) => Err(unclosed(frame, None, self.pos)),
                };
            };
            if stack.is_empty() && !(c == '#' && self.peek2() == Some('_')) {
                form_start = start;
            }
            let (mut value, mut value_pos) = match c {
                '(' | '[' | '{' => {
                    self.bump();
                    let frame = match c {
                        '(' => new_seq(SeqKind::List, start),
                        '[' => new_seq(SeqKind::Vector, start),
                        _ => new_map(start, None),
                    };
                    self.push(&mut stack, frame, start)?;
                    continue;
                }
                ')' | ']' | '}' => {
                    self.bump();
                    let Some(frame) = stack.pop() else {
                        return Err(EdnError::new(
                            Kind::UnexpectedChar,
                            start,
                            format!("unmatched '{c}': no list, vector, map or set is open"),
                        ));
                    };
                    close(frame, c, start)?
                }
                '"' => (self.read_string()?, start),
                '\\' => (self.read_char()?, start),
                '#' => match self.read_dispatch(start)? {
                    Dispatch::Value(v) => (v, start),
                    Dispatch::Push(frame) => {
                        self.push(&mut stack, frame, start)?;
                        continue;
                    }
                },
                _ => (self.read_atom()?, start),
            };
            // Hand the finished value to the innermost open frame; tags apply and pass their
            // result further out, a discard swallows it.
            loop {
                match stack.last_mut() {
                    Some(Frame::Seq {
                        kind,
                        items,
                        positions,
                        ..
                    }) => {
                        items.push(value);
                        if *kind == SeqKind::Set {
                            positions.push(value_pos);
                        }
                        break;
                    }
                    Some(Frame::Map {
                        entries,
                        key_positions,
                        pending,
                        ..
                    }) => {
                        match pending.take() {
                            None => *pending = Some((value, value_pos)),
                            Some((key, key_pos)) => {
                                entries.push((key, value));
                                key_positions.push(key_pos);
                            }
                        }
                        break;
                    }
                    _ => {}
                }
                match stack.pop() {
                    None => return Ok(Some((form_start, value))),
                    Some(Frame::Tag { at, tag }) => {
                        value = apply_tag(tag, value, value_pos)?;
                        value_pos = at;
                    }
                    Some(_) => break, // a discard
                }
            }
        }
    }

    /// Reads a string literal; the reader is at the opening quote.
    fn read_string(&mut self) -> Result<Edn, EdnError> {
        let open = self.pos;
        self.bump();
        let mut s = String::new();
        let eof = |at: Position| {
            EdnError::new(
                Kind::UnexpectedEnd,
                at,
                format!("expected '\"' to close the string opened at {open}, found end of input"),
            )
        };
        loop {
            let here = self.pos;
            match self.bump() {
                None => return Err(eof(self.pos)),
                Some('"') => return Ok(Edn::string(s)),
                Some('\\') => match self.bump() {
                    None => return Err(eof(self.pos)),
                    Some('"') => s.push('"'),
                    Some('\\') => s.push('\\'),
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some('b') => s.push('\u{8}'),
                    Some('f') => s.push('\u{c}'),
                    Some('u') => s.push(self.read_unicode_escape(here)?),
                    Some(c) => {
                        return Err(EdnError::new(
                            Kind::InvalidToken,
                            here,
                            format!("unsupported escape \\{} in string", c.escape_debug()),
                        ))
                    }
                },
                Some(c) => s.push(c),
            }
        }
    }

    /// Four hex digits after `\u` in a string.
    fn hex4(&mut self, at: Position) -> Result<u32, EdnError> {
        let mut v = 0;
        for _ in 0..4 {
            match self.peek().and_then(|c| c.to_digit(16)) {
                Some(d) => {
                    self.bump();
                    v = v * 16 + d;
                }
                None => {
                    return Err(EdnError::new(
                        Kind::InvalidToken,
                        at,
                        "expected 4 hexadecimal digits after \\u in string",
                    ))
                }
            }
        }
        Ok(v)
    }

    /// The character of a `\uXXXX` string escape (the reader is after the `u`), joining a
    /// UTF-16 surrogate pair written as two escapes.
    fn read_unicode_escape(&mut self, at: Position) -> Result<char, EdnError> {
        let unpaired = |cp: u32| {
            EdnError::new(
                Kind::InvalidToken,
                at,
                format!("unpaired surrogate \\u{cp:04X} in string"),
            )
        };
        let cp = self.hex4(at)?;
        if (0xDC00..0xE000).contains(&cp) {
            return Err(unpaired(cp));
        }
        if (0xD800..0xDC00).contains(&cp) {
            if !self.src[self.pos.offset..].starts_with("\\u") {
                return Err(unpaired(cp));
            }
            self.bump();
            self.bump();
            let low = self.hex4(at)?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(unpaired(cp));
            }
            let joined = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            return char::from_u32(joined).ok_or_else(|| unpaired(cp));
        }
        char::from_u32(cp).ok_or_else(|| unpaired(cp))
    }

    /// Reads a character literal; the reader is at the backslash.
    fn read_char(&mut self) -> Result<Edn, EdnError> {
        let start = self.pos;
        self.bump();
        let name_start = self.pos.offset;
        match self.peek() {
            None => {
                return Err(EdnError::new(
                    Kind::UnexpectedEnd,
                    self.pos,
                    "expected a character after '\\', found end of input",
                ))
            }
            Some(c) if c.is_whitespace() => {
                return Err(EdnError::new(
                    Kind::InvalidToken,
                    start,
                    format!(
                        "expected a character after '\\', found whitespace {c:?} \
                         (write \\space, \\newline, \\tab or \\return)"
                    ),
                ))
            }
            Some(_) => {
                self.bump();
            }
        }
        while let Some(c) = self.peek() {
            if is_delimiter(c) {
                break;
            }
            self.bump();
        }
        let name = &self.src[name_start..self.pos.offset];
        let mut chars = name.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return Ok(Edn::Char(c));
        }
        let unknown = || {
            EdnError::new(
                Kind::InvalidToken,
                start,
                format!("unknown character name \\{name}"),
            )
        };
        let c = match name {
            "newline" => '\n',
            "space" => ' ',
            "tab" => '\t',
            "return" => '\r',
            "formfeed" => '\u{c}',
            "backspace" => '\u{8}',
            _ if name.len() == 5 && name.starts_with('u') => {
                let cp = u32::from_str_radix(&name[1..], 16).map_err(|_| unknown())?;
                char::from_u32(cp).ok_or_else(|| {
                    EdnError::new(
                        Kind::InvalidToken,
                        start,
                        format!("\\{name} is a UTF-16 surrogate, not a character"),
                    )
                })?
            }
            _ if name.starts_with('o') && (2..=4).contains(&name.len()) => {
                let cp = u32::from_str_radix(&name[1..], 8).map_err(|_| unknown())?;
                if cp > 0o377 {
                    return Err(EdnError::new(
                        Kind::InvalidToken,
                        start,
                        format!("octal character \\{name} is out of range (at most \\o377)"),
                    ));
                }
                char::from_u32(cp).ok_or_else(unknown)?
            }
            _ => return Err(unknown()),
        };
        Ok(Edn::Char(c))
    }

    /// Reads what follows a `#`; the reader is at the `#`.
    fn read_dispatch(&mut self, start: Position) -> Result<Dispatch, EdnError> {
        self.bump();
        let unsupported = |what: &str| {
            Err(EdnError::new(
                Kind::Unsupported,
                start,
                format!("{what} are not EDN"),
            ))
        };
        match self.peek() {
            None => Err(EdnError::new(
                Kind::UnexpectedEnd,
                self.pos,
                "expected a dispatch character after '#', found end of input",
            )),
            Some('{') => {
                self.bump();
                Ok(Dispatch::Push(new_seq(SeqKind::Set, start)))
            }
            Some('_') => {
                self.bump();
                Ok(Dispatch::Push(Frame::Discard { at: start }))
            }
            Some('#') => {
                self.bump();
                match self.take_token() {
                    "Inf" => Ok(Dispatch::Value(Edn::Double(f64::INFINITY))),
                    "-Inf" => Ok(Dispatch::Value(Edn::Double(f64::NEG_INFINITY))),
                    "NaN" => Ok(Dispatch::Value(Edn::Double(f64::NAN))),
                    other => Err(EdnError::new(
                        Kind::InvalidToken,
                        start,
                        format!(
                            "unknown symbolic value ##{other} (expected ##Inf, ##-Inf or ##NaN)"
                        ),
                    )),
                }
            }
            Some(':') => {
                self.bump();
                let ns = self.take_token();
                if ns.contains('/') || validate_part(ns, false).is_err() {
                    return Err(EdnError::new(
                        Kind::InvalidToken,
                        start,
                        format!("invalid namespace {ns:?} in namespaced map #:{ns}"),
                    ));
                }
                self.skip_ws();
                if self.peek() != Some('{') {
                    let kind = if self.peek().is_none() {
                        Kind::UnexpectedEnd
                    } else {
                        Kind::UnexpectedChar
                    };
                    return Err(EdnError::new(
                        kind,
                        self.pos,
                        format!(
                            "expected '{{' to start the namespaced map #:{ns}, found {}",
                            describe(self.peek())
                        ),
                    ));
                }
                self.bump();
                Ok(Dispatch::Push(new_map(start, Some(ns.to_owned()))))
            }
            Some(c) if c.is_alphabetic() => {
                let token = self.take_token();
                let tag = parse_symbol(token).map_err(|msg| {
                    EdnError::new(
                        Kind::InvalidToken,
                        start,
                        format!("invalid tag #{token}: {msg}"),
                    )
                })?;
                Ok(Dispatch::Push(Frame::Tag { at: start, tag }))
            }
            Some('"') => unsupported("regular expressions #\"...\""),
            Some('(') => unsupported("anonymous functions #(...)"),
            Some('\'') => unsupported("var quotes #'"),
            Some('?') => unsupported("reader conditionals #?"),
            Some('=') => unsupported("read-time evaluations #="),
            Some('^') => unsupported("metadata annotations #^"),
            Some(c) => Err(EdnError::new(
                Kind::UnexpectedChar,
                self.pos,
                format!("unexpected character {c:?} after '#'"),
            )),
        }
    }

    /// Reads a number, symbol, keyword, `nil`, `true` or `false`.
    fn read_atom(&mut self) -> Result<Edn, EdnError> {
        let start = self.pos;
        let token = self.take_token();
        let mut chars = token.chars();
        let (Some(first), second) = (chars.next(), chars.next()) else {
            // Unreachable in practice: every delimiter is handled before atoms.
            let c = self.bump();
            return Err(EdnError::new(
                Kind::UnexpectedChar,
                start,
                format!("unexpected character {}", describe(c)),
            ));
        };
        let signed_digit = matches!(first, '+' | '-') && second.is_some_and(|c| c.is_ascii_digit());
        if first.is_ascii_digit() || signed_digit {
            return parse_number(token).map_err(|(kind, msg)| EdnError::new(kind, start, msg));
        }
        if first == ':' {
            return parse_keyword(token)
                .map(Edn::Keyword)
                .map_err(|(kind, msg)| EdnError::new(kind, start, msg));
        }
        match token {
            "nil" => Ok(Edn::Nil),
            "true" => Ok(Edn::Bool(true)),
            "false" => Ok(Edn::Bool(false)),
            _ => parse_symbol(token).map(Edn::Symbol).map_err(|msg| {
                let kind = if matches!(first, '@' | '^' | '`' | '~' | '\'') {
                    Kind::UnexpectedChar
                } else {
                    Kind::InvalidToken
                };
                EdnError::new(kind, start, format!("invalid symbol {token}: {msg}"))
            }),
        }
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<(Position, Edn), EdnError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.read_form().transpose()
    }
}

fn new_seq(kind: SeqKind, open: Position) -> Frame {
    Frame::Seq {
        kind,
        open,
        items: Vec::new(),
        positions: Vec::new(),
    }
}

fn new_map(open: Position, namespace: Option<String>) -> Frame {
    Frame::Map {
        open,
        namespace,
        entries: Vec::new(),
        key_positions: Vec::new(),
        pending: None,
    }
}

/// The error for a frame still open at `found` (a closing delimiter that does not match, or
/// the end of input).
fn unclosed(frame: &Frame, found: Option<char>, at: Position) -> EdnError {
    let kind = if found.is_none() {
        Kind::UnexpectedEnd
    } else {
        Kind::UnexpectedChar
    };
    let found = describe(found);
    let message = match frame {
        Frame::Seq { kind, open, .. } => format!(
            "expected '{}' to close the {} opened at {open}, found {found}",
            kind.close(),
            kind.name()
        ),
        Frame::Map {
            open,
            namespace: None,
            ..
        } => format!("expected '}}' to close the map opened at {open}, found {found}"),
        Frame::Map {
            open,
            namespace: Some(ns),
            ..
        } => format!("expected '}}' to close the map #:{ns} opened at {open}, found {found}"),
        Frame::Tag { at, tag } => format!("expected a form after #{tag} at {at}, found {found}"),
        Frame::Discard { at } => format!("expected a form after #_ at {at}, found {found}"),
    };
    EdnError::new(kind, at, message)
}

/// Finishes a collection at its closing delimiter `c` (found at `at`). Returns the value and the
/// position where it opened.
fn close(frame: Frame, c: char, at: Position) -> Result<(Edn, Position), EdnError> {
    match frame {
        Frame::Seq {
            kind,
            open,
            items,
            positions,
        } if c == kind.close() => {
            let value = match kind {
                SeqKind::List => Edn::List(items),
                SeqKind::Vector => Edn::Vector(items),
                SeqKind::Set => {
                    if let Some(i) = find_duplicate(&items, |e| e) {
                        return Err(EdnError::new(
                            Kind::InvalidCollection,
                            positions.get(i).copied().unwrap_or(open),
                            format!(
                                "set literal has duplicate element {}",
                                abbreviate(&items[i], 60)
                            ),
                        ));
                    }
                    Edn::Set(items)
                }
            };
            Ok((value, open))
        }
        Frame::Map {
            open,
            namespace,
            mut entries,
            key_positions,
            pending,
        } if c == '}' => {
            if let Some((key, key_pos)) = pending {
                return Err(EdnError::new(
                    Kind::InvalidCollection,
                    key_pos,
                    format!(
                        "map literal has a key with no value: {} (a map needs an even number of forms)",
                        abbreviate(&key, 60)
                    ),
                ));
            }
            if let Some(ns) = namespace {
                for (key, _) in &mut entries {
                    qualify(key, &ns);
                }
            }
            if let Some(i) = find_duplicate(&entries, |(k, _)| k) {
                return Err(EdnError::new(
                    Kind::InvalidCollection,
                    key_positions.get(i).copied().unwrap_or(open),
                    format!(
                        "map literal has duplicate key {}",
                        abbreviate(&entries[i].0, 60)
                    ),
                ));
            }
            Ok((Edn::Map(entries), open))
        }
        other => Err(unclosed(&other, Some(c), at)),
    }
}

/// In `#:ns{...}`, gives keys without a namespace the namespace `ns`, and removes the `_`
/// namespace (`:_/a` becomes `:a`).
fn qualify(key: &mut Edn, ns: &str) {
    match key {
        Edn::Keyword(k) => match k.namespace() {
            None => *k = Keyword::new(Some(ns), k.name()),
            Some("_") => *k = Keyword::new(None, k.name()),
            Some(_) => {}
        },
        Edn::Symbol(s) => match s.namespace() {
            None => *s = Symbol::new(Some(ns), s.name()),
            Some("_") => *s = Symbol::new(None, s.name()),
            Some(_) => {}
        },
        _ => {}
    }
}

/// The index of the first item (in reading order) equal to an earlier one.
pub(crate) fn find_duplicate<T>(items: &[T], key: impl Fn(&T) -> &Edn) -> Option<usize> {
    if items.len() < 2 {
        return None;
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| key(&items[a]).cmp(key(&items[b])).then(a.cmp(&b)));
    order
        .windows(2)
        .filter(|w| key(&items[w[0]]).cmp(key(&items[w[1]])) == Ordering::Equal)
        .map(|w| w[1])
        .min()
}

/// Applies a tag to the form that followed it (which starts at `value_pos`).
fn apply_tag(tag: Symbol, value: Edn, value_pos: Position) -> Result<Edn, EdnError> {
    let builtin = if tag.namespace().is_none() {
        tag.name()
    } else {
        ""
    };
    match (builtin, value) {
        ("inst", Edn::String(s)) => parse_rfc3339(&s).map(Edn::Inst).map_err(|msg| {
            EdnError::new(
                Kind::InvalidLiteral,
                value_pos,
                format!("invalid #inst {}: {msg}", abbreviate(&Edn::String(s), 60)),
            )
        }),
        ("uuid", Edn::String(s)) => parse_uuid(&s).map(Edn::Uuid).ok_or_else(|| {
            EdnError::new(
                Kind::InvalidLiteral,
                value_pos,
                format!(
                    "invalid #uuid {}: expected 8-4-4-4-12 hexadecimal digits",
                    abbreviate(&Edn::String(s), 60)
                ),
            )
        }),
        ("inst" | "uuid", other) => Err(EdnError::new(
            Kind::InvalidLiteral,
            value_pos,
            format!("#{builtin} expects a string, found {}", other.type_name()),
        )),
        (_, value) => Ok(Edn::tagged(tag, value)),
    }
}

/// Checks one part (namespace or name) of a symbol or keyword. Keyword parts may start with a
/// digit.
fn validate_part(part: &str, keyword: bool) -> Result<(), Malformed> {
    let mut chars = part.chars();
    let Some(first) = chars.next() else {
        return Err(Malformed::from("empty name"));
    };
    if let Some(bad) = part
        .chars()
        .find(|&c| c.is_control() || is_delimiter(c) || matches!(c, '@' | '^' | '`' | '~'))
    {
        return Err(Malformed::from(format!("character {bad:?} is not allowed")));
    }
    if matches!(first, ':' | '#' | '\'') {
        return Err(Malformed::from(format!("cannot start with {first:?}")));
    }
    if !keyword {
        if first.is_numeric() {
            return Err(Malformed::from("cannot start with a digit"));
        }
        if matches!(first, '+' | '-' | '.') && chars.next().is_some_and(|c| c.is_ascii_digit()) {
            return Err(Malformed::from(format!(
                "{first:?} followed by a digit is a number, not a symbol"
            )));
        }
    }
    Ok(())
}

/// Splits `ns/name` (or `name`, or `/`, or `ns//`) and checks both parts.
fn split_name(body: &str, keyword: bool) -> Result<(Option<&str>, &str), Malformed> {
    if body == "/" {
        return Ok((None, "/"));
    }
    let (ns, name) = match body.split_once('/') {
        None => (None, body),
        Some((ns, "/")) => (Some(ns), "/"),
        Some((ns, name)) => {
            if name.contains('/') {
                return Err(Malformed::from("more than one '/'"));
            }
            if name.is_empty() {
                return Err(Malformed::from("nothing after '/'"));
            }
            if ns.is_empty() {
                return Err(Malformed::from("nothing before '/'"));
            }
            (Some(ns), name)
        }
    };
    if let Some(ns) = ns {
        validate_part(ns, keyword)?;
    }
    if name != "/" {
        validate_part(name, keyword)?;
    }
    Ok((ns, name))
}

fn parse_symbol(token: &str) -> Result<Symbol, Malformed> {
    let (ns, name) = split_name(token, false)?;
    Ok(Symbol::new(ns, name))
}

fn parse_keyword(token: &str) -> Result<Keyword, (Kind, String)> {
    let body = &token[1..]; // after the ASCII ':'
    if body.starts_with(':') {
        return Err((
            Kind::Unsupported,
            format!("auto-resolved keywords like {token} are not EDN"),
        ));
    }
    let (ns, name) = split_name(body, true).map_err(|msg| {
        (
            Kind::InvalidToken,
            format!("invalid keyword {token}: {msg}"),
        )
    })?;
    Ok(Keyword::new(ns, name))
}

/// A `Long` when it fits and no `N` was written, otherwise a `BigInt`.
fn integer(n: BigInt, force_big: bool) -> Edn {
    match i64::try_from(&n) {
        Ok(v) if !force_big => Edn::Long(v),
        _ => Edn::big_int(n),
    }
}

/// Parses a token that starts with a digit or a sign and a digit.
pub(crate) fn parse_number(token: &str) -> Result<Edn, (Kind, String)> {
    let invalid = || (Kind::InvalidNumber, format!("invalid number {token}"));
    let (negative, body) = match token.as_bytes().first() {
        Some(b'-') => (true, &token[1..]),
        Some(b'+') => (false, &token[1..]),
        _ => (false, token),
    };
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        let (digits, big) = match hex.strip_suffix('N') {
            Some(d) => (d, true),
            None => (hex, false),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        let n = BigInt::parse_bytes(digits.as_bytes(), 16).ok_or_else(invalid)?;
        return Ok(integer(if negative { -n } else { n }, big));
    }
    let bytes = body.as_bytes();
    let digits_from = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let int_end = digits_from(0);
    let mut i = int_end;
    let mut frac = None;
    if bytes.get(i) == Some(&b'.') {
        let end = digits_from(i + 1);
        frac = Some(&body[i + 1..end]);
        i = end;
    }
    let mut exp = None;
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let sign_end = if matches!(bytes.get(i + 1), Some(b'+' | b'-')) {
            i + 2
        } else {
            i + 1
        };
        let end = digits_from(sign_end);
        if end == sign_end {
            return Err(invalid());
        }
        exp = Some(&body[i + 1..end]);
        i = end;
    }
    let suffix = &body[i..];
    let integral = frac.is_none() && exp.is_none();
    match suffix {
        "" | "N" | "M" => {}
        s if integral && s.starts_with('/') => {
            return Err((
                Kind::Unsupported,
                format!("ratio literals like {token} are not supported"),
            ))
        }
        s if integral && s.starts_with(['r', 'R']) => {
            return Err((
                Kind::Unsupported,
                format!("radix literals like {token} are not supported"),
            ))
        }
        _ => return Err(invalid()),
    }
    let int_digits = &body[..int_end];
    if suffix == "M" {
        let frac = frac.unwrap_or("");
        let mut digits = String::with_capacity(int_digits.len() + frac.len());
        digits.push_str(int_digits);
        digits.push_str(frac);
        let unscaled = BigInt::parse_bytes(digits.as_bytes(), 10).ok_or_else(invalid)?;
        let out_of_range = || {
            (
                Kind::InvalidNumber,
                format!("invalid number {token}: exponent out of range"),
            )
        };
        let exponent: i64 = match exp {
            Some(e) => e.parse().map_err(|_| out_of_range())?,
            None => 0,
        };
        let scale = i64::try_from(frac.len())
            .ok()
            .and_then(|f| f.checked_sub(exponent))
            .and_then(|s| i32::try_from(s).ok())
            .ok_or_else(out_of_range)?;
        let unscaled = if negative { -unscaled } else { unscaled };
        return Ok(Edn::big_dec(BigDec { unscaled, scale }));
    }
    if !integral {
        if suffix == "N" {
            return Err(invalid());
        }
        return token.parse::<f64>().map(Edn::Double).map_err(|_| invalid());
    }
    if int_digits.len() > 1 && int_digits.starts_with('0') {
        return Err((
            Kind::InvalidNumber,
            format!("invalid number {token}: integers cannot have leading zeros"),
        ));
    }
    if suffix.is_empty() {
        if let Ok(n) = token.parse::<i64>() {
            return Ok(Edn::Long(n));
        }
    }
    let n = BigInt::parse_bytes(int_digits.as_bytes(), 10).ok_or_else(invalid)?;
    Ok(integer(if negative { -n } else { n }, suffix == "N"))
}

#[cfg(test)]
mod tests;
