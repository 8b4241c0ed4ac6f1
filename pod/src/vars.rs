//! The namespace `pod.huahaiy.datalevin`: every one of Datalevin's 113 remote vars with its
//! arities and whether Levin serves it, and the 5 client-side vars whose Clojure source
//! (written for Levin) the client evaluates.

/// The namespace the pod declares (Datalevin's, so scripts written for it load Levin).
pub const NAMESPACE: &str = "pod.huahaiy.datalevin";

/// How Levin serves a var.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// As Datalevin's pod does.
    Yes,
    /// With a documented difference.
    Partly(&'static str),
    /// Not at all: calls answer `levin/unsupported`; the text says what Levin lacks.
    No(&'static str),
}

/// One remote var.
#[derive(Debug, Clone, Copy)]
pub struct Var {
    /// Its name in the namespace.
    pub name: &'static str,
    /// The fewest arguments it takes.
    pub min: usize,
    /// The most (`usize::MAX`: any number).
    pub max: usize,
    /// Whether Levin serves it.
    pub support: Support,
}

const ANY: usize = usize::MAX;
const FT: Support = Support::No("full-text search");
const VEC: Support = Support::No("vector search");
const WAL: Support = Support::No("the write-ahead log");
const PRED: Support =
    Support::No("functions run inside the pod: Levin cannot evaluate Clojure (pod-fn)");

const fn v(name: &'static str, min: usize, max: usize) -> Var {
    Var {
        name,
        min,
        max,
        support: Support::Yes,
    }
}

const fn part(name: &'static str, min: usize, max: usize, how: &'static str) -> Var {
    Var {
        name,
        min,
        max,
        support: Support::Partly(how),
    }
}

const fn no(name: &'static str, support: Support) -> Var {
    Var {
        name,
        min: 0,
        max: ANY,
        support,
    }
}

/// Datalevin 0.10.7's 113 remote vars, Datalog first, then key-value, then the engines
/// Levin does not have.
pub const VARS: &[Var] = &[
    v("get-conn", 1, 3),
    v("create-conn", 0, 3),
    v("close", 1, 1),
    v("closed?", 1, 1),
    v("conn?", 1, 1),
    v("conn-from-db", 1, 1),
    v("db", 1, 1),
    v("db?", 1, 1),
    v("empty-db", 0, 3),
    part(
        "init-db",
        1,
        3,
        "datoms are added with one transaction of :db/add forms",
    ),
    v("close-db", 1, 1),
    v("schema", 1, 1),
    v("update-schema", 2, 4),
    part(
        "clear",
        1,
        1,
        "removes every datom and keeps the schema and the connection open",
    ),
    part(
        "datalog-index-cache-limit",
        1,
        2,
        "Levin has no index cache: 0, and a new limit is ignored",
    ),
    v("transact!", 2, 3),
    v("transact", 2, 3),
    v("transact-async*", 2, 3),
    v("open-transact", 1, 1),
    v("close-transact", 1, 1),
    v("abort-transact", 1, 1),
    v("q", 1, ANY),
    part("explain", 2, ANY, "Levin's plan map; the query always runs"),
    v("pull", 3, 4),
    v("pull-many", 3, 4),
    v("entity", 2, 2),
    v("touch", 1, 1),
    v("entid", 2, 2),
    v("datoms", 2, 6),
    v("seek-datoms", 2, 6),
    v("rseek-datoms", 2, 6),
    v("search-datoms", 4, 4),
    v("count-datoms", 4, 4),
    v("index-range", 4, 4),
    v("cardinality", 2, 2),
    v("max-eid", 1, 1),
    part(
        "analyze",
        1,
        2,
        "Levin's planner counts on demand: returns :done",
    ),
    no("fulltext-datoms", FT),
    v("open-kv", 1, 2),
    v("close-kv", 1, 1),
    v("closed-kv?", 1, 1),
    v("dir", 1, 1),
    v("open-dbi", 2, 3),
    v("open-list-dbi", 2, 3),
    v("clear-dbi", 2, 2),
    v("drop-dbi", 2, 2),
    v("list-dbis", 1, 1),
    v("copy", 2, 3),
    part("stat", 1, 2, "LMDB's keys, from Levin's own statistics"),
    v("entries", 2, 2),
    v("sync", 1, 2),
    part(
        "get-env-flags",
        1,
        1,
        "only :nosync, :nometasync and :rdonly-env mean something",
    ),
    part(
        "set-env-flags",
        3,
        3,
        "only :nosync and :nometasync change anything",
    ),
    no("txlog-watermarks", WAL),
    no("open-tx-log", WAL),
    no("create-snapshot!", WAL),
    no("list-snapshots", WAL),
    no("gc-txlog-segments!", WAL),
    v("open-transact-kv", 1, 1),
    v("close-transact-kv", 1, 1),
    v("abort-transact-kv", 1, 1),
    v("transact-kv", 2, 5),
    v("transact-kv-async*", 2, 5),
    v("get-value", 3, 6),
    v("get-rank", 3, 4),
    v("get-by-rank", 3, 6),
    v("sample-kv", 3, 6),
    v("get-first", 3, 6),
    v("get-first-n", 4, 7),
    v("get-range", 3, 6),
    v("key-range", 3, 4),
    v("key-range-count", 3, 4),
    v("range-count", 3, 4),
    no("get-some", PRED),
    no("range-filter", PRED),
    no("range-keep", PRED),
    no("range-some", PRED),
    no("range-filter-count", PRED),
    no("visit", PRED),
    no("visit-key-range", PRED),
    v("put-list-items", 4, 6),
    v("del-list-items", 3, 6),
    v("get-list", 3, 5),
    v("list-count", 3, 4),
    v("in-list?", 4, 6),
    v("list-range", 3, 6),
    v("list-range-count", 3, 6),
    v("list-range-first", 3, 6),
    v("list-range-first-n", 4, 7),
    no("list-range-filter", PRED),
    no("list-range-keep", PRED),
    no("list-range-some", PRED),
    no("list-range-filter-count", PRED),
    no("visit-list", PRED),
    no("visit-list-range", PRED),
    no("new-search-engine", FT),
    no("add-doc", FT),
    no("remove-doc", FT),
    no("clear-docs", FT),
    no("doc-indexed?", FT),
    no("doc-count", FT),
    no("search", FT),
    no("new-vector-index", VEC),
    no("add-vec", VEC),
    no("remove-vec", VEC),
    no("clear-vector-index", VEC),
    no("close-vector-index", VEC),
    no("vector-index-info", VEC),
    no("force-vec-checkpoint!", VEC),
    no("vector-checkpoint-state", VEC),
    no("search-vec", VEC),
    part(
        "re-index",
        2,
        3,
        "a Datalog conn only (a kv-db answers levin/unsupported); opts such as :backup? are ignored",
    ),
    no(
        "pod-fn",
        Support::No("Clojure functions inside the pod: Levin cannot evaluate Clojure"),
    ),
];

/// The var named `name` (without the namespace).
pub fn find(name: &str) -> Option<&'static Var> {
    VARS.iter().find(|v| v.name == name)
}

/// The 5 client-side vars: `(name, Clojure source)`, evaluated by the client in the
/// namespace, in this order. Written for Levin (not Datalevin's source).
pub const CODE_VARS: &[(&str, &str)] = &[
    (
        "defpodfn",
        "(defmacro defpodfn
  \"Defines fn-name through pod-fn. Levin cannot run Clojure inside the pod, so pod-fn
  answers with a levin/unsupported error.\"
  [fn-name args & body]
  (list 'def fn-name
        (concat (list 'pod.huahaiy.datalevin/pod-fn (list 'quote fn-name) (list 'quote args))
                (map (fn [form] (list 'quote form)) body))))",
    ),
    (
        "with-transaction-kv",
        "(defmacro with-transaction-kv
  \"Runs body with binding bound to a writing handle of the key-value store: committed
  when body returns, aborted (and the exception rethrown) when it throws.\"
  [[sym store] & body]
  (let [handle (gensym \"handle\")
        result (gensym \"result\")
        err (gensym \"err\")]
    (list 'let [handle (list 'pod.huahaiy.datalevin/open-transact-kv store)]
          (list 'try
                (list 'let [sym handle
                            result (cons 'do body)]
                      (list 'pod.huahaiy.datalevin/close-transact-kv handle)
                      result)
                (list 'catch 'java.lang.Throwable err
                      (list 'pod.huahaiy.datalevin/abort-transact-kv handle)
                      (list 'throw err))))))",
    ),
    (
        "with-transaction",
        "(defmacro with-transaction
  \"Runs body with binding bound to a writing handle of the connection: committed when
  body returns, aborted (and the exception rethrown) when it throws.\"
  [[sym conn] & body]
  (let [handle (gensym \"handle\")
        result (gensym \"result\")
        err (gensym \"err\")]
    (list 'let [handle (list 'pod.huahaiy.datalevin/open-transact conn)]
          (list 'try
                (list 'let [sym handle
                            result (cons 'do body)]
                      (list 'pod.huahaiy.datalevin/close-transact handle)
                      result)
                (list 'catch 'java.lang.Throwable err
                      (list 'pod.huahaiy.datalevin/abort-transact handle)
                      (list 'throw err))))))",
    ),
    (
        "transact-async",
        "(defn transact-async
  \"Transacts tx-data and calls callback with the report (errors go to *err*); returns
  nil at once.\"
  ([conn tx-data] (transact-async conn tx-data nil nil))
  ([conn tx-data tx-meta] (transact-async conn tx-data tx-meta nil))
  ([conn tx-data tx-meta callback]
   (babashka.pods/invoke \"pod.huahaiy.datalevin\"
                         'pod.huahaiy.datalevin/transact-async*
                         [conn tx-data tx-meta]
                         {:handlers {:success (fn [report] (when callback (callback report)))
                                     :error (fn [{:keys [ex-message]}]
                                              (binding [*out* *err*]
                                                (println \"levin: transact-async failed:\" ex-message)))}})
   nil))",
    ),
    (
        "transact-kv-async",
        "(defn transact-kv-async
  \"Transacts key-value writes and calls callback with the result (errors go to *err*);
  returns nil at once.\"
  ([store dbi txs k-type v-type] (transact-kv-async store dbi txs k-type v-type nil))
  ([store dbi txs k-type v-type callback]
   (babashka.pods/invoke \"pod.huahaiy.datalevin\"
                         'pod.huahaiy.datalevin/transact-kv-async*
                         [store dbi txs k-type v-type]
                         {:handlers {:success (fn [result] (when callback (callback result)))
                                     :error (fn [{:keys [ex-message]}]
                                              (binding [*out* *err*]
                                                (println \"levin: transact-kv-async failed:\" ex-message)))}})
   nil))",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_datalevin_var_once() {
        assert_eq!(VARS.len(), 113);
        assert_eq!(CODE_VARS.len(), 5);
        let mut names: Vec<&str> = VARS.iter().map(|v| v.name).collect();
        names.extend(CODE_VARS.iter().map(|(n, _)| *n));
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a name is declared twice");
        let unsupported = VARS
            .iter()
            .filter(|v| matches!(v.support, Support::No(_)))
            .count();
        assert_eq!(unsupported, 36);
    }

    #[test]
    fn code_vars_balance_their_parens() {
        for (name, code) in CODE_VARS {
            let mut depth = 0i32;
            let mut in_str = false;
            let mut esc = false;
            for c in code.chars() {
                if in_str {
                    match (esc, c) {
                        (true, _) => esc = false,
                        (false, '\\') => esc = true,
                        (false, '"') => in_str = false,
                        _ => {}
                    }
                    continue;
                }
                match c {
                    '"' => in_str = true,
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' => depth -= 1,
                    _ => {}
                }
                assert!(depth >= 0, "{name}");
            }
            assert_eq!(depth, 0, "{name}");
            assert!(code.contains(name), "{name}");
        }
    }
}
