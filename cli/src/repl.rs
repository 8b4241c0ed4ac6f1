//! `levin repl`: an interactive prompt with line editing and history. A query (a vector
//! starting with `:find`, or a map with `:find`) is run; `(pull PATTERN EID)` pulls; any
//! other vector is transacted. `:help` and `:quit` do what they say.

use std::path::{Path, PathBuf};

use levin_datalog::Conn;
use levin_edn as edn;
use levin_edn::Edn;
use levin_query::Connection;

use super::error::{CliError, Result};

const HELP: &str = "Enter EDN:\n  [:find ...] or {:find ...}   run a query\n  (pull PATTERN EID)          pull an entity\n  [tx-forms ...]              transact\n  :quit                       leave";

fn is_query(v: &Edn) -> bool {
    match v {
        Edn::Vector(items) => items.first().is_some_and(|k| k.is_kw("", "find")),
        Edn::Map(_) => v.get(&Edn::kw("", "find")).is_some(),
        _ => false,
    }
}

/// Evaluates one form on any connection, embedded or remote; returns the text to print.
pub fn eval<C: Connection>(conn: &C, form: &Edn) -> Result<String>
where
    CliError: From<C::Error>,
{
    if is_query(form) {
        return Ok(edn::to_pretty_string(&conn.q(form, &[])?, 100));
    }
    if let Edn::List(items) = form {
        if items
            .first()
            .and_then(Edn::as_symbol)
            .is_some_and(|s| s.name() == "pull" && s.namespace().is_none())
        {
            let [_, pattern, eid] = items.as_slice() else {
                return Err(CliError::Usage(
                    "pull takes a pattern and an entity: (pull [*] 1)".into(),
                ));
            };
            return Ok(edn::to_pretty_string(&conn.pull(pattern, eid)?, 100));
        }
        return Err(CliError::Usage(format!("unknown call {form}; try :help")));
    }
    if matches!(form, Edn::Vector(_)) {
        let r = conn.transact(form)?;
        let added = r.tx_data.iter().filter(|d| d.added).count();
        return Ok(format!(
            "{{:datoms-added {added} :datoms-retracted {} :max-eid {}}}",
            r.tx_data.len() - added,
            r.max_eid
        ));
    }
    Err(CliError::Usage(format!(
        "expected a query, a transaction or (pull ...), got {}; try :help",
        form.type_name()
    )))
}

/// Runs the prompt on the database in `dir`, or on a server's when `dir` is a
/// `levin://` URI, until end of input or `:quit`.
pub fn run(dir: &Path) -> Result<()> {
    if let Some(uri) = super::remote::uri_of(dir) {
        let conn = levin_client::connect(uri)?;
        // History of remote sessions lives in the home directory, not beside a database.
        let history = std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".levin_history"))
            .unwrap_or_else(|| PathBuf::from(".levin_history"));
        return prompt(&conn, &redact(uri), &history);
    }
    let conn = Conn::open(dir, ())?;
    prompt(
        &conn,
        &dir.display().to_string(),
        &dir.join(".levin_history"),
    )
}

/// The URI without its password, for the banner.
fn redact(uri: &str) -> String {
    match levin_client::Target::parse(uri) {
        Ok(t) => format!(
            "levin://{}@{}:{}/{}",
            t.user,
            t.host,
            t.port,
            t.db.unwrap_or_default()
        ),
        Err(_) => "a server".into(),
    }
}

fn prompt<C: Connection>(conn: &C, name: &str, history: &Path) -> Result<()>
where
    CliError: From<C::Error>,
{
    let mut rl = rustyline::DefaultEditor::new()?;
    let _ = rl.load_history(history);
    super::output::println(format_args!(
        "Levin REPL on {name} (:help for help, :quit to leave)"
    ))?;
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "levin> "
        } else {
            "  ...> "
        };
        let line = match rl.readline(prompt) {
            Ok(l) => l,
            Err(rustyline::error::ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        buffer.push_str(&line);
        buffer.push('\n');
        let form = match edn::read(&buffer) {
            Ok(f) => f,
            // An unfinished form: keep reading lines.
            Err(e) if e.message().contains("end of input") => continue,
            Err(e) => {
                super::output::eprintln(format_args!("error: {e}"));
                buffer.clear();
                continue;
            }
        };
        let _ = rl.add_history_entry(buffer.trim_end());
        buffer.clear();
        if form.is_kw("", "quit") || form.is_kw("", "exit") {
            break;
        }
        if form.is_kw("", "help") {
            super::output::println(HELP)?;
            continue;
        }
        match eval(conn, &form) {
            Ok(out) => super::output::println(out)?,
            Err(e) => super::output::eprintln(format_args!("error: {e}")),
        }
    }
    let _ = rl.save_history(history);
    Ok(())
}
