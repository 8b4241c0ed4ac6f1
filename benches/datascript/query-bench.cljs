(ns query-bench
  "DataScript side of Levin's query-compare benchmark, run by nbb-logseq (which bundles
  DataScript):

    nbb-logseq query-bench.cljs SPEC.edn

  SPEC.edn (written by query-compare) names the data files (EDN transaction data), the
  schema of each, the timing parameters and the benchmarks (query text and EDN arguments). Each
  benchmark prints one line `QB-RESULT {json}` with the median ms per run, the samples, the
  result count and the file holding the result rows (canonical text, sorted, one per line)."
  (:require [cljs.reader :as reader]
            [clojure.string :as str]
            [datascript.core :as d]
            ["fs" :as fs]))

(defn now [] (js/performance.now))

(defn slurp [path] (.readFileSync fs path "utf8"))

(defn emit [m]
  (println (str "QB-RESULT " (js/JSON.stringify (clj->js m)))))

(defn median [xs]
  (nth (sort xs) (quot (count xs) 2)))

(defn measure
  "Warm-up, then `samples` samples of at least `sample-ms` each (at least one run);
  returns the mean ms per run of each sample."
  [{:keys [warmup-ms samples sample-ms]} f]
  (let [t0 (now)]
    (loop []
      (f)
      (when (< (- (now) t0) warmup-ms) (recur))))
  (vec
    (for [_ (range samples)]
      (let [t0 (now)]
        (loop [n 1]
          (f)
          (let [el (- (now) t0)]
            (if (>= el sample-ms)
              (/ el n)
              (recur (inc n)))))))))

(defn canon
  "Canonical text of a value, the same as Levin's side: maps with their entries sorted by
  key text, vector elements sorted (a pulled cardinality-many attribute has no order), everything else as EDN."
  [v]
  (cond
    (map? v) (str "{" (str/join ", " (sort (map (fn [[k x]] (str (canon k) " " (canon x))) v))) "}")
    (vector? v) (str "[" (str/join " " (sort (map canon v))) "]")
    :else (pr-str v)))

(defn canon-rows
  "Result tuples as sorted canonical text lines: values as canonical text, tab-separated."
  [result]
  (sort (map (fn [row] (str/join "\t" (map canon row))) result)))

(defn -main [spec-path]
  (let [spec   (reader/read-string (slurp spec-path))
        schema (fn [ds] (reader/read-string (get-in spec [:schemas ds])))
        timing (:timing spec)
        txs    (atom {})
        dbs    (atom {})
        tx-of  (fn [ds]
                 (or (get @txs ds)
                     (let [tx (reader/read-string (slurp (get-in spec [:data ds])))]
                       (swap! txs assoc ds tx)
                       tx)))
        db-of  (fn [ds]
                 (or (get @dbs ds)
                     (let [tx (tx-of ds)
                           t0 (now)
                           db (d/db-with (d/empty-db (schema ds)) tx)]
                       (binding [*print-fn* *print-err-fn*]
                         (println "datascript: loaded" ds "in" (js/Math.round (- (now) t0)) "ms"))
                       (swap! dbs assoc ds db)
                       db)))]
    (doseq [[i {:keys [name dataset kind query args]}] (map-indexed vector (:benches spec))]
      (try
        (case kind
          :load
          (let [tx      (tx-of dataset)
                once    (fn [] (let [t0 (now)
                                     db (d/db-with (d/empty-db (schema dataset)) tx)]
                                 [(- (now) t0) db]))
                _       (when (:load-warmup timing) (once))
                runs    (vec (for [_ (range (max 1 (:load-samples timing)))] (once)))
                samples (mapv first runs)]
            (emit {:name      name
                   :median_ms (median samples)
                   :samples   samples
                   :count     (count (d/datoms (second (peek runs)) :eavt))}))
          :query
          (let [db      (db-of dataset)
                q       (reader/read-string query)
                inputs  (mapv reader/read-string args)
                run     (fn [] (apply d/q q db inputs))
                result  (run)
                samples (measure timing run)
                file    (str (:out spec) "/" i ".txt")]
            (.writeFileSync fs file (str/join "\n" (canon-rows result)))
            (emit {:name      name
                   :median_ms (median samples)
                   :samples   samples
                   :count     (count result)
                   :rows_file file})))
        (catch :default e
          (emit {:name name :error (str (or (ex-message e) e))}))))))

(-main (last (js->clj (.-argv js/process))))
