;; Datalevin side of Levin's query-compare benchmark, run on the real Datalevin (the JVM, via
;; ../shared/datalevin/run-clj):
;;
;;   run-clj query-bench.clj SPEC.edn
;;
;; SPEC.edn (written by query-compare, the same file the DataScript side reads) names the
;; data files, the schema of each data set, the timing parameters and the benchmarks. Each
;; benchmark prints one line `QB-RESULT {json}`: median ms per run, samples, result count and
;; the file holding the canonical result rows. Datalevin's query result cache is turned off
;; on every database (`datalog-index-cache-limit` 0) and each query is warmed up for at least
;; `:jvm-warmup-ms` so that the JIT has compiled it before the samples.
(ns query-bench
  (:require [clojure.edn :as edn]
            [clojure.string :as str]
            [datalevin.core :as d]))

(defn now [] (/ (System/nanoTime) 1e6))

(defn json-str [x]
  (cond
    (nil? x) "null"
    (string? x) (str "\"" (-> x (str/replace "\\" "\\\\") (str/replace "\"" "\\\"")
                              (str/replace "\n" "\\n") (str/replace "\t" "\\t")
                              (str/replace "\r" "\\r")) "\"")
    (keyword? x) (json-str (name x))
    (number? x) (if (and (float? x) (or (Double/isNaN x) (Double/isInfinite x))) "null" (str x))
    (map? x) (str "{" (str/join "," (map (fn [[k v]] (str (json-str k) ":" (json-str v))) x)) "}")
    (sequential? x) (str "[" (str/join "," (map json-str x)) "]")
    :else (json-str (str x))))

(defn emit [m]
  (println (str "QB-RESULT " (json-str m)))
  (flush))

(defn median [xs] (nth (sort xs) (quot (count xs) 2)))

(defn measure [{:keys [warmup-ms samples sample-ms]} f]
  (let [t0 (now)]
    (loop [] (f) (when (< (- (now) t0) warmup-ms) (recur))))
  (vec (for [_ (range samples)]
         (let [t0 (now)]
           (loop [n 1]
             (f)
             (let [el (- (now) t0)]
               (if (>= el sample-ms) (/ el n) (recur (inc n)))))))))

(defn canon
  "Canonical text of a value, the same as Levin's side: maps with their entries sorted by
  key text, vector elements sorted (a pulled cardinality-many attribute has no order), integral doubles as integers, everything else as EDN."
  [v]
  (cond
    (map? v) (str "{" (str/join ", " (sort (map (fn [[k x]] (str (canon k) " " (canon x))) v))) "}")
    (vector? v) (str "[" (str/join " " (sort (map canon v))) "]")
    (and (float? v) (== v (Math/rint v)) (< (Math/abs (double v)) 1e15)) (str (long v))
    :else (pr-str v)))

(defn canon-rows [result]
  (sort (map (fn [row] (str/join "\t" (map canon row))) result)))

(def readers {'inst #(java.util.Date/from (java.time.Instant/parse %))
              'uuid #(java.util.UUID/fromString %)})

(defn read-edn [s] (edn/read-string {:readers readers} s))

(defn tmp-dir [] (str (java.nio.file.Files/createTempDirectory
                        "levin-qbench-dtlv" (make-array java.nio.file.attribute.FileAttribute 0))))

(defn rm-rf [path]
  (let [f (java.io.File. path)]
    (when (.isDirectory f) (doseq [c (.listFiles f)] (rm-rf (.getPath c))))
    (.delete f)))

(defn -main [spec-path]
  (let [spec    (read-edn (slurp spec-path))
        timing  (:timing spec)
        jtiming (assoc timing :warmup-ms (max (:warmup-ms timing) (:jvm-warmup-ms spec 0)))
        schema  (fn [ds] (read-edn (or (get-in spec [:schemas ds]) (:schema spec))))
        txs     (atom {})
        conns   (atom {})
        tx-of   (fn [ds] (or (get @txs ds)
                             (let [tx (read-edn (slurp (get-in spec [:data ds])))]
                               (swap! txs assoc ds tx)
                               tx)))
        db-of   (fn [ds] (or (get @conns ds)
                             (let [tx   (tx-of ds)
                                   dir  (tmp-dir)
                                   conn (d/get-conn dir (schema ds))
                                   t0   (now)]
                               (d/transact! conn tx)
                               (binding [*out* *err*]
                                 (println "datalevin: loaded" ds "in" (Math/round (- (now) t0)) "ms"))
                               (swap! conns assoc ds [conn dir])
                               [conn dir])))]
    (doseq [[i {:keys [name dataset kind query args]}] (map-indexed vector (:benches spec))]
      (try
        (case kind
          :load
          (let [tx   (tx-of dataset)
                once (fn [] (let [dir  (tmp-dir)
                                  conn (d/get-conn dir (schema dataset))
                                  t0   (now)
                                  _    (d/transact! conn tx)
                                  ms   (- (now) t0)
                                  n    (count (d/datoms (d/db conn) :eav))]
                              (d/close conn)
                              (rm-rf dir)
                              [ms n]))
                _    (when (:load-warmup timing) (once))
                runs (vec (for [_ (range (max 1 (:load-samples timing)))] (once)))
                samples (mapv first runs)]
            (emit {:name name :median_ms (median samples) :samples samples
                   :count (second (peek runs))}))
          :query
          (let [[conn _] (db-of dataset)
                db      (d/db conn)
                _       (d/datalog-index-cache-limit db 0)
                q       (read-edn query)
                inputs  (mapv read-edn args)
                run     (fn [] (apply d/q q db inputs))
                result  (run)
                samples (measure jtiming run)
                file    (str (:out spec) "/" i ".txt")]
            (spit file (str/join "\n" (canon-rows result)))
            (emit {:name name :median_ms (median samples) :samples samples
                   :count (count result) :rows_file file})))
        (catch Throwable e
          (emit {:name name :error (str (or (ex-message e) e))}))))
    (doseq [[conn dir] (vals @conns)]
      (d/close conn)
      (rm-rf dir))
    (shutdown-agents)
    (System/exit 0)))

(-main (last *command-line-args*))
