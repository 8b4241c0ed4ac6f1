;; Runs every case of query/tests/data/*.edn against the real Datalevin and writes its
;; answers to query/tests/golden/<file>.edn: the oracle the Levin test runners compare
;; with. Usage: run-clj golden.clj DATA-DIR GOLDEN-DIR (scripts/regen-datalevin-golden).
;;
;; Three file formats (see query/tests/q_support, query/tests/common, query/tests/kv_random.rs):
;;   q_*.edn  [{:name :schema :tx :cases [{:q :in :db2 :schema2 :no-db ...}]}]
;;   kv_*.edn [{:name :steps [[:open-dbi n] [:open-list-dbi n] [:kv-tx forms] [:read f args...]]}]
;;   others   [{:name :schema :steps [[:op args...] ...]}] (ix_*.edn: attributes numbered in
;;            name order, as Levin numbers them)
;; Each group gets a fresh Datalevin database (a key-value store for kv_*.edn). Every answer is {:result v} or
;; {:error "message"}, stored with the case's query (or step) so a runner can tell
;; when the golden file is stale.
(ns golden
  (:require [datalevin.core :as d]
            [clojure.edn :as edn]
            [clojure.java.io :as io]
            [clojure.string :as str]
            [clojure.walk :as walk]))

(def readers
  {'inst  #(java.util.Date/from (java.time.Instant/parse %))
   'uuid  #(java.util.UUID/fromString %)
   'bytes (fn [^String hex]
            (byte-array (map #(unchecked-byte (Integer/parseInt (apply str %) 16))
                             (partition 2 hex))))})

(defn read-edn [s] (edn/read-string {:readers readers} s))

;; The registry of application functions the data files may use (q_support::registry).
(defn my-inc [n] (inc n))
(defn ends-with-x? [s] (and (string? s) (str/ends-with? s "x")))
(defn my-sum [vals] (reduce + 0 (filter integer? vals)))

(defn hex [^bytes b] (apply str (map #(format "%02x" (bit-and % 0xff)) b)))

(defn datom-vec [dt]
  (let [v [(:e dt) (:a dt) (:v dt)]]
    (if (false? (:added dt)) (conj v false) v)))

(defn norm
  "Datalevin's answer as plain EDN the Levin reader understands."
  [x]
  (cond
    (instance? datalevin.datom.Datom x) (mapv norm (datom-vec x))
    (bytes? x) (tagged-literal 'bytes (hex x))
    ;; Levin has no ratios: (/ 10 4) answers 2.5 there, 5/2 here.
    (ratio? x) (double x)
    (instance? datalevin.entity.Entity x) (:db/id x)
    (map? x) (into {} (map (fn [[k v]] [(norm k) (norm v)])) x)
    (set? x) (into #{} (map norm) x)
    (vector? x) (mapv norm x)
    (seq? x) (apply list (map norm x))
    (and (some? x) (.isArray (class x))) (mapv norm x)
    :else x))

(defn touched
  "A touched entity as a map: nested entities (components) as touched maps too."
  [e]
  (let [t (d/touch e)
        f (fn f [v] (cond (instance? datalevin.entity.Entity v) (touched v)
                          (set? v) (into #{} (map f) v)
                          :else (norm v)))]
    (into {:db/id (:db/id t)} (map (fn [[k v]] [k (f v)])) t)))

(defn message
  "The first 400 characters of t's message, without the numbers Datalevin appends to the
  variables it renames (?x53795 -> ?x), which change whenever cases are added."
  [^Throwable t]
  (let [m (str/replace (or (ex-message t) (str (class t))) #"(\?[\w*!?<>=+-]*?[A-Za-z_-])\d{3,}" "$1")]
    (subs m 0 (min 400 (count m)))))

(defmacro answer [& body]
  `(try {:result (norm (do ~@body))}
        (catch Throwable t# {:error (message t#)})))

(defn fresh-dir []
  (str (java.nio.file.Files/createTempDirectory
        "golden" (make-array java.nio.file.attribute.FileAttribute 0))))

(defn open [dir schema] (d/get-conn dir (or schema {}) {:validate-data? true}))

;; ---- q_*.edn -------------------------------------------------------------------------

(defn db-with [schema tx]
  (let [conn (open (fresh-dir) schema)]
    (when tx (d/transact! conn tx))
    conn))

(defn run-case [conn group c]
  (let [q (:q c)
        db2conn (when (contains? c :db2) (db-with (or (:schema2 c) (:schema group)) (:db2 c)))
        ins (concat (when-not (:no-db c) [@conn])
                    (when db2conn [@db2conn])
                    (:in c))
        run #(binding [*ns* (the-ns 'golden)]
               (answer (apply d/q (if (string? q) (read-edn q) q) %)))
        a (run ins)
        ;; Datalevin gives a query without :in that names no source no inputs at all
        ;; (Levin still takes the database as $): ask it without the database.
        a (if (and (not (:no-db c)) (some-> (:error a) (str/starts-with? "Extra inputs passed, expected: []")))
            (run (rest ins))
            a)]
    (when db2conn (d/close db2conn))
    (assoc a :q (norm q))))

(defn run-q-group [g]
  (let [conn (try (db-with (:schema g) (:tx g)) (catch Throwable t t))]
    (if (instance? Throwable conn)
      {:name (:name g) :error (message conn)}
      (let [res (mapv #(run-case conn g %) (:cases g))]
        (d/close conn)
        {:name (:name g) :answers res}))))

;; ---- step files ----------------------------------------------------------------------

(defn tx-answer [r]
  {:tx-data (set (map (comp norm datom-vec) (:tx-data r)))
   :tempids (norm (dissoc (:tempids r) :db/current-tx))})

(defn datoms [db idx comps] (vec (apply d/datoms db idx comps)))

(defn run-step [state [op & args]]
  (let [conn (:conn @state)
        db (fn [] (d/db conn))
        [a1 a2 a3] args]
    (case op
      (:tx :tx-error :try-tx) (answer (tx-answer (d/transact! conn a1)))
      (:pull :pull-error) (answer (d/pull (db) a1 a2))
      :pull-many (answer (d/pull-many (db) a1 a2))
      :entity (answer (let [e (d/entity (db) a1)] (when e (get e a2))))
      :touch (answer (let [e (d/entity (db) a1)] (when e (touched e))))
      :datoms (answer (datoms (db) a1 a2))
      :all-datoms (answer (datoms (db) :eav []))
      :seek (answer (vec (take a3 (apply d/seek-datoms (db) a1 a2))))
      :rseek (answer (vec (take a3 (apply d/rseek-datoms (db) a1 a2))))
      :search (answer (vec (d/search-datoms (db) a1 a2 a3)))
      :cardinality (answer (d/cardinality (db) a1))
      :index-range (answer (vec (d/index-range (db) a1 a2 a3)))
      :count (answer (count (datoms (db) a1 a2)))
      :entid (answer (d/entid (db) a1))
      :max-eid (answer (:max-eid (db)))
      (:schema :schema-error) (answer (d/update-schema conn a1) nil)
      :schema-is (answer (dissoc (get (d/schema conn) a1) :db/aid))
      :open-error (answer (d/close conn)
                          (try (d/close (open (:dir @state) a1))
                               (finally (swap! state assoc :conn (open (:dir @state) nil))))
                          nil)
      :reopen (answer (d/close conn)
                      (swap! state assoc :conn (open (:dir @state) a1))
                      nil)
      {:error (str "the golden script does not know step " op)})))

(defn open-sorted
  "A database whose attributes get their ids in name order, one update-schema each, as
  Levin numbers a schema's attributes (Datalevin numbers a large schema map's attributes
  in its hash order): index reads across attributes then come in the same order."
  [dir schema]
  (let [conn (open dir nil)]
    (doseq [a (sort (keys schema))]
      (d/update-schema conn {a (get schema a)}))
    conn))

(defn run-step-group
  ([g] (run-step-group open g))
  ([open g]
  (let [dir (fresh-dir)
        conn (try (open dir (:schema g)) (catch Throwable t t))]
    (if (instance? Throwable conn)
      {:name (:name g) :error (message conn)}
      (let [state (atom {:conn conn :dir dir})
            res (mapv (fn [s] (assoc (run-step state s) :step (norm s))) (:steps g))]
        (d/close (:conn @state))
        {:name (:name g) :answers res})))))

;; ---- kv_*.edn: key-value steps ------------------------------------------------------

(declare run-kv-step*)

(defn kv-in
  "A Clojure user passes a :bigint key or value as a java.math.BigInteger (Datalevin refuses
  clojure.lang.BigInt there): the EDN reader's 1N becomes one."
  [x]
  (walk/postwalk #(if (instance? clojure.lang.BigInt %) (.toBigInteger ^clojure.lang.BigInt %) %) x))

(defn kv-out
  "Datalevin's answer with its BigIntegers back as bigints (1N), as Levin gives them."
  [a]
  (update a :result (fn [r] (walk/postwalk #(if (instance? java.math.BigInteger %) (bigint %) %) r))))

(defn run-kv-step [kv [op & args]]
  (kv-out (run-kv-step* kv (into [op] (kv-in args)))))

(defn run-kv-step* [kv [op & args]]
  (case op
    :open-dbi (answer (d/open-dbi kv (first args)) nil)
    :open-list-dbi (answer (d/open-list-dbi kv (first args)) nil)
    :kv-tx (answer (d/transact-kv kv (first args)) nil)
    :read (let [[f & more] args
                v (ns-resolve 'datalevin.core (symbol f))]
            (if v
              (answer (apply v kv more))
              {:error (str "datalevin.core has no " f)}))
    {:error (str "the golden script does not know key-value step " op)}))

(defn run-kv-group [g]
  (let [kv (d/open-kv (fresh-dir))
        res (mapv (fn [s] (assoc (run-kv-step kv s) :step (norm s))) (:steps g))]
    (d/close-kv kv)
    {:name (:name g) :answers res}))

;; ---- files ---------------------------------------------------------------------------

(defn write-golden [out file groups]
  (with-open [w (io/writer out)]
    (binding [*out* w *print-namespace-maps* false *print-length* nil *print-level* nil]
      (println (str ";; Datalevin's answers to tests/data/" file
                    ", written by scripts/regen-datalevin-golden. Do not edit."))
      (println "[")
      (doseq [g groups]
        (print "{:name ") (pr (:name g))
        (if (:error g)
          (do (print " :error ") (pr (:error g)))
          (do (println " :answers [")
              (doseq [a (:answers g)] (print " ") (pr a) (println))
              (print "]")))
        (println "}"))
      (println "]"))))

(defn -main [data-dir golden-dir]
  (.mkdirs (io/file golden-dir))
  (let [files (->> (.listFiles (io/file data-dir))
                   (filter #(str/ends-with? (.getName %) ".edn"))
                   (sort-by #(.getName %)))]
    (doseq [f files]
      (let [name (.getName f)
            groups (read-edn (slurp f))
            run (cond (str/starts-with? name "q_") run-q-group
                      (str/starts-with? name "kv_") run-kv-group
                      (str/starts-with? name "ix_") (partial run-step-group open-sorted)
                      :else run-step-group)
            res (mapv run groups)
            n (reduce + (map (comp count :answers) res))]
        (write-golden (io/file golden-dir name) name res)
        (println (format "%-22s %4d answers, %3d errors" name n
                         (count (filter :error (mapcat :answers res)))))))))

(apply -main *command-line-args*)
(shutdown-agents)
(System/exit 0)
