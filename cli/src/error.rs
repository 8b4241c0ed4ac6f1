//! The `levin` tool's errors: one [`CliError`] per failure, keeping the underlying crate's
//! error (engine, Datalog, query, EDN, client, server, I/O) as its source, with what was
//! being done and where (path, argument, dump line and column), for `main` to print as one
//! line.
//!
//! `Display` and `Error` are written out rather than derived with `thiserror`: the
//! `cli_args` fuzz target compiles this file inside the fuzz crate, whose dependencies
//! this crate does not control. The lower layers' errors are boxed to keep `CliError`
//! small (clippy's `result_large_err`: two engine errors side by side are 160 bytes).

use std::fmt;
use std::path::PathBuf;

use levin_edn::{EdnError, Position};

/// Result of the `levin` tool.
pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;

/// Everything a `levin` command can fail with; its `Display` is the line `main` prints
/// after `levin: `. Errors of the database keep the lower layer's error whole as the
/// source ([`CliError::Engine`], [`CliError::OpenRead`], [`CliError::Datalog`],
/// [`CliError::Query`], [`CliError::Remote`]), so corruption and the database's own I/O
/// errors stay apart (`is_corruption` on the source); files, standard input and output
/// that the tool reads and writes itself fail with [`CliError::Io`].
#[derive(Debug)]
#[non_exhaustive]
pub(crate) enum CliError {
    /// Arguments (or a form typed at the REPL) that the command does not take, with what
    /// would be taken instead.
    Usage(String),
    /// A command refused because of what its target holds (existing data, the Datalog
    /// store's own databases), with what to do instead.
    Refused(String),
    /// A directory without a Levin data file.
    NoDatabase {
        /// The directory.
        dir: PathBuf,
    },
    /// A data file of 0 bytes: not taken for a new database, since it may be a lost one.
    EmptyDataFile {
        /// The data file.
        file: PathBuf,
    },
    /// Reading or writing a file, standard input or output, or another system resource the
    /// tool uses itself (not the database's own files).
    Io {
        /// What was being done: `read schema`, `create`, `write the dump`, ...
        op: String,
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// The system's error.
        source: std::io::Error,
    },
    /// Standard output was closed (a broken pipe): `main` ends quietly and successfully.
    StdoutClosed,
    /// EDN text given as an argument or in a file that does not read.
    Edn {
        /// Which text: `query`, `input 2`, `transaction tx.edn`, ...
        what: String,
        /// The reader's error, with its line and column.
        source: EdnError,
    },
    /// The key-value engine failed (I/O, corruption, a missing database, ...).
    Engine {
        /// Where, when the engine's message does not say.
        context: Context,
        /// The engine's error.
        source: Box<levin_engine::Error>,
    },
    /// A read-only open failed with the lock file and again without it (a read-only
    /// directory or mount).
    OpenRead {
        /// Why the open with the lock file failed.
        with_lock: Box<levin_engine::Error>,
        /// Why the open without it failed.
        source: Box<levin_engine::Error>,
    },
    /// The Datalog store failed (schema, transaction, pull, or the engine below it).
    Datalog {
        /// Where, and what the failure left undone.
        context: Context,
        /// The store's error.
        source: Box<levin_datalog::Error>,
    },
    /// A query failed to parse or run, or the store under it failed.
    Query {
        /// Which query, when there are several.
        context: Context,
        /// The query's (or the store's) error.
        source: Box<levin_query::Error>,
    },
    /// A server refused or failed a request, or could not be reached.
    Remote {
        /// Where, and what the failure left undone.
        context: Context,
        /// The client's error.
        source: Box<levin_client::ClientError>,
    },
    /// `levin serve` could not start.
    Serve(levin_server::StartError),
    /// A dump that is malformed, cut short, damaged or of an unknown version.
    Dump {
        /// The form at fault, when there is one.
        at: Option<Position>,
        /// What is wrong, and what became of the load.
        problem: String,
    },
    /// A dump that is not EDN (cut short, or not a dump); nothing was loaded.
    DumpSyntax(EdnError),
    /// `levin check` found problems (already printed, one a line).
    CheckFailed {
        /// How many.
        problems: usize,
    },
    /// The REPL's line editor failed.
    Readline(rustyline::error::ReadlineError),
    /// `levin pod` ended on an error (already reported to the pod's client).
    PodFailed,
    /// Something levin itself got wrong (a bug), e.g. the demo's sample data lacking what
    /// the demo then pulls.
    Internal(&'static str),
}

/// Where a store or server error happened and what the failure left undone, for the
/// error's message; the default says nothing beyond the error's own text.
#[derive(Debug, Default)]
pub(crate) struct Context {
    /// Where, printed before the error.
    pub at: Option<At>,
    /// What was rolled back, printed after it.
    pub undone: Option<Undone>,
}

/// Where a store or server error happened.
#[derive(Debug)]
pub(crate) enum At {
    /// In the database in this directory.
    Dir(PathBuf),
    /// Applying the `--schema` map.
    Schema,
    /// Running the query of this name (the demo's).
    Query(&'static str),
    /// At this form of a dump.
    DumpForm(Position),
    /// In a batch of a dump's datoms ending at this form.
    DumpUpTo(Position),
}

/// What a failure left undone: the transaction it was in is rolled back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Undone {
    /// Nothing of a transaction or re-index was written.
    Changed,
    /// Nothing of a load was written.
    Loaded,
}

impl Context {
    /// The context `at`, with nothing undone to report.
    pub fn at(at: At) -> Context {
        Context {
            at: Some(at),
            undone: None,
        }
    }

    /// No place beyond the error's own text; the transaction was rolled back.
    pub fn undone(undone: Undone) -> Context {
        Context {
            at: None,
            undone: Some(undone),
        }
    }

    /// `at`, and the transaction was rolled back.
    pub fn at_undone(at: At, undone: Undone) -> Context {
        Context {
            at: Some(at),
            undone: Some(undone),
        }
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Dir(dir) => write!(f, "{}", dir.display()),
            At::Schema => f.write_str("schema"),
            At::Query(name) => f.write_str(name),
            At::DumpForm(pos) => write!(f, "dump: {pos}"),
            At::DumpUpTo(pos) => write!(f, "dump: at or before {pos}"),
        }
    }
}

impl fmt::Display for Undone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Undone::Changed => "nothing was changed",
            Undone::Loaded => "nothing was loaded",
        })
    }
}

/// Writes `source` with the context around it: `AT: SOURCE; UNDONE`.
fn in_context(f: &mut fmt::Formatter<'_>, c: &Context, source: &dyn fmt::Display) -> fmt::Result {
    if let Some(at) = &c.at {
        write!(f, "{at}: ")?;
    }
    write!(f, "{source}")?;
    if let Some(undone) = c.undone {
        write!(f, "; {undone}")?;
    }
    Ok(())
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(msg) | CliError::Refused(msg) => f.write_str(msg),
            CliError::NoDatabase { dir } => {
                write!(f, "{} holds no Levin database", dir.display())
            }
            CliError::EmptyDataFile { file } => write!(
                f,
                "{} is empty (0 bytes): it holds no Levin database. If it should, restore it \
                 from a backup; to start a new database there, delete the file",
                file.display()
            ),
            CliError::Io { op, path, source } => match path {
                Some(path) => write!(f, "cannot {op} {}: {source}", path.display()),
                None => write!(f, "cannot {op}: {source}"),
            },
            CliError::StdoutClosed => f.write_str("standard output closed"),
            CliError::Edn { what, source } => write!(f, "{what}: {source}"),
            CliError::Engine { context, source } => in_context(f, context, source),
            CliError::OpenRead { with_lock, source } => {
                write!(f, "{with_lock}; without the lock file: {source}")
            }
            CliError::Datalog { context, source } => in_context(f, context, source),
            CliError::Query { context, source } => in_context(f, context, source),
            CliError::Remote { context, source } => in_context(f, context, source),
            CliError::Serve(source) => write!(f, "{source}"),
            CliError::Dump {
                at: Some(pos),
                problem,
            } => write!(f, "dump: {pos}: {problem}"),
            CliError::Dump { at: None, problem } => f.write_str(problem),
            CliError::DumpSyntax(source) => write!(
                f,
                "dump: {source} (a dump cut short, or not a dump); nothing was loaded"
            ),
            CliError::CheckFailed { problems } => write!(f, "{problems} problem(s) found"),
            CliError::Readline(source) => write!(f, "{source}"),
            CliError::PodFailed => f.write_str("the pod stopped on an error"),
            CliError::Internal(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Io { source, .. } => Some(source),
            CliError::Edn { source, .. } | CliError::DumpSyntax(source) => Some(source),
            // The boxed errors themselves, not their boxes, so that callers can downcast.
            CliError::Engine { source, .. } | CliError::OpenRead { source, .. } => Some(&**source),
            CliError::Datalog { source, .. } => Some(&**source),
            CliError::Query { source, .. } => Some(&**source),
            CliError::Remote { source, .. } => Some(&**source),
            CliError::Serve(source) => Some(source),
            CliError::Readline(source) => Some(source),
            CliError::Usage(_)
            | CliError::Refused(_)
            | CliError::NoDatabase { .. }
            | CliError::EmptyDataFile { .. }
            | CliError::StdoutClosed
            | CliError::Dump { .. }
            | CliError::CheckFailed { .. }
            | CliError::PodFailed
            | CliError::Internal(_) => None,
        }
    }
}

impl CliError {
    /// An I/O error while doing `op` (`read schema`, `create`, ...) on `path`, if any.
    pub fn io(op: impl Into<String>, path: Option<PathBuf>, source: std::io::Error) -> Self {
        CliError::Io {
            op: op.into(),
            path,
            source,
        }
    }

    /// A dump problem at `at`.
    pub fn dump(at: Position, problem: impl Into<String>) -> Self {
        CliError::Dump {
            at: Some(at),
            problem: problem.into(),
        }
    }

    /// A dump problem that is not at one form (the dump as a whole, or its end).
    pub fn dump_whole(problem: impl Into<String>) -> Self {
        CliError::Dump {
            at: None,
            problem: problem.into(),
        }
    }

    /// This error with `context`, when it is a store or server error (which is what
    /// [`ResultExt::context`] is used on); any other error is returned as it is.
    fn with_context(self, context: Context) -> Self {
        match self {
            CliError::Engine { source, .. } => CliError::Engine { context, source },
            CliError::Datalog { source, .. } => CliError::Datalog { context, source },
            CliError::Query { source, .. } => CliError::Query { context, source },
            CliError::Remote { source, .. } => CliError::Remote { context, source },
            other => other,
        }
    }
}

impl From<levin_engine::Error> for CliError {
    fn from(source: levin_engine::Error) -> Self {
        let source = Box::new(source);
        CliError::Engine {
            context: Context::default(),
            source,
        }
    }
}

impl From<levin_datalog::Error> for CliError {
    fn from(source: levin_datalog::Error) -> Self {
        let source = Box::new(source);
        CliError::Datalog {
            context: Context::default(),
            source,
        }
    }
}

impl From<levin_query::Error> for CliError {
    fn from(source: levin_query::Error) -> Self {
        let source = Box::new(source);
        CliError::Query {
            context: Context::default(),
            source,
        }
    }
}

impl From<levin_query::QueryError> for CliError {
    fn from(source: levin_query::QueryError) -> Self {
        levin_query::Error::from(source).into()
    }
}

impl From<levin_client::ClientError> for CliError {
    fn from(source: levin_client::ClientError) -> Self {
        let source = Box::new(source);
        CliError::Remote {
            context: Context::default(),
            source,
        }
    }
}

impl From<levin_server::StartError> for CliError {
    fn from(source: levin_server::StartError) -> Self {
        CliError::Serve(source)
    }
}

impl From<rustyline::error::ReadlineError> for CliError {
    fn from(source: rustyline::error::ReadlineError) -> Self {
        CliError::Readline(source)
    }
}

/// Attaching a [`Context`] to a store or server error on its way up.
pub(crate) trait ResultExt<T> {
    /// The error, if any, with `context`.
    fn context(self, context: Context) -> Result<T>;
}

impl<T, E> ResultExt<T> for std::result::Result<T, E>
where
    CliError: From<E>,
{
    fn context(self, context: Context) -> Result<T> {
        self.map_err(|e| CliError::from(e).with_context(context))
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::io;

    use super::*;

    fn pos(line: usize, column: usize) -> Position {
        Position {
            offset: 0,
            line,
            column,
        }
    }

    #[test]
    fn an_io_error_names_what_was_done_the_path_and_the_reason() {
        let e = CliError::io(
            "read schema",
            Some(PathBuf::from("/some/dir/schema.edn")),
            io::Error::new(io::ErrorKind::NotFound, "No such file or directory"),
        );
        assert_eq!(
            e.to_string(),
            "cannot read schema /some/dir/schema.edn: No such file or directory"
        );
        let source = e.source().expect("the I/O error is kept as the source");
        assert_eq!(
            source.downcast_ref::<io::Error>().map(io::Error::kind),
            Some(io::ErrorKind::NotFound)
        );
        let e = CliError::io(
            "read transaction from standard input",
            None,
            io::Error::other("interrupted"),
        );
        assert_eq!(
            e.to_string(),
            "cannot read transaction from standard input: interrupted"
        );
    }

    #[test]
    fn missing_and_empty_databases_name_the_path() {
        let e = CliError::NoDatabase {
            dir: PathBuf::from("/nonexistent/db"),
        };
        assert_eq!(e.to_string(), "/nonexistent/db holds no Levin database");
        let e = CliError::EmptyDataFile {
            file: PathBuf::from("/db/data.levin"),
        };
        assert!(
            e.to_string()
                .starts_with("/db/data.levin is empty (0 bytes)"),
            "{e}"
        );
    }

    #[test]
    fn an_edn_error_names_the_argument_line_and_column() {
        let source = levin_edn::read("[1 2").expect_err("an unclosed vector");
        let e = CliError::Edn {
            what: "input 2".into(),
            source,
        };
        let text = e.to_string();
        assert!(text.starts_with("input 2: line 1, column"), "{text}");
        assert!(e.source().is_some_and(|s| s.is::<EdnError>()));
    }

    #[test]
    fn dump_errors_name_the_form_and_what_was_undone() {
        let at = pos(3, 2);
        assert_eq!(
            CliError::dump(at, "entity id 0 is not positive").to_string(),
            "dump: line 3, column 2: entity id 0 is not positive"
        );
        assert_eq!(
            CliError::dump_whole("the dump is empty").to_string(),
            "the dump is empty"
        );
        let source = levin_engine::Error::NoSuchDatabase("users".into());
        let e = Err::<(), _>(source)
            .context(Context::at(At::DumpForm(at)))
            .expect_err("an error");
        assert_eq!(
            e.to_string(),
            "dump: line 3, column 2: no database named \"users\"; create it first"
        );
        let source = levin_datalog::Error::LookupRef("[:name \"x\"]".into());
        let e = Err::<(), _>(source)
            .context(Context::at_undone(At::DumpUpTo(at), Undone::Loaded))
            .expect_err("an error");
        assert_eq!(
            e.to_string(),
            "dump: at or before line 3, column 2: nothing found for lookup ref [:name \"x\"]; \
             nothing was loaded"
        );
        let source = levin_datalog::Error::LookupRef("1".into());
        let e = Err::<(), _>(source)
            .context(Context::at_undone(At::Schema, Undone::Changed))
            .expect_err("an error");
        assert_eq!(
            e.to_string(),
            "schema: nothing found for lookup ref 1; nothing was changed"
        );
    }

    #[test]
    fn a_store_error_is_kept_whole_as_the_source() {
        let e = CliError::from(levin_engine::Error::NoSuchDatabase("t".into()));
        assert_eq!(e.to_string(), "no database named \"t\"; create it first");
        let source = e.source().expect("the engine's error is the source");
        assert!(source
            .downcast_ref::<levin_engine::Error>()
            .is_some_and(|s| !s.is_corruption()));
        let e = CliError::from(levin_datalog::Error::Corrupt("bad tag".into()));
        assert!(e
            .source()
            .and_then(|s| s.downcast_ref::<levin_datalog::Error>())
            .is_some_and(levin_datalog::Error::is_corruption));
    }
}
