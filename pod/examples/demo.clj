#!/usr/bin/env bb
;; Levin as a Babashka pod: run by hand with babashka (no bb binary is reachable from
;; this project's registries, so CI drives the pod with python-pods instead).
;;
;;   cargo build --release -p levin-cli
;;   bb pod/examples/demo.clj target/release/levin
;;
;; The same script loads Datalevin's pod with (pods/load-pod "dtlv").
(require '[babashka.pods :as pods])

(def pod (pods/load-pod (or (first *command-line-args*) "levin")))
(require '[pod.huahaiy.datalevin :as d])

(def dir (str (System/getProperty "java.io.tmpdir") "/levin-pod-demo-" (System/currentTimeMillis)))

(def conn (d/get-conn dir {:name   {:db/unique :db.unique/identity}
                           :friend {:db/valueType :db.type/ref
                                    :db/cardinality :db.cardinality/many}}))

(def report (d/transact! conn [{:db/id "ivan" :name "Ivan"}
                               {:db/id "petr" :name "Petr" :friend "ivan"}]))
(println "tempids:" (:tempids report))

(println "friends of Ivan:"
         (d/q '[:find ?n :in $ ?x
                :where [?f :name ?x] [?e :friend ?f] [?e :name ?n]]
              (d/db conn) "Ivan"))

(println "pull:" (d/pull (d/db conn) '[:name {:friend [:name]}] [:name "Petr"]))

;; An explicit transaction: committed when the body returns, aborted when it throws.
(d/with-transaction [cn conn]
  (d/transact! cn [{:name "Oleg"}]))
(try
  (d/with-transaction [cn conn]
    (d/transact! cn [{:name "Never"}])
    (throw (ex-info "changed my mind" {})))
  (catch Exception e (println "aborted:" (ex-message e))))
(println "names:" (d/q '[:find [?n ...] :where [_ :name ?n]] (d/db conn)))

;; Key-value.
(def kv (d/open-kv (str dir "-kv")))
(d/open-dbi kv "t")
(d/transact-kv kv [[:put "t" 1 "one" :long :string]
                   [:put "t" 2 "two" :long :string]])
(println "range:" (d/get-range kv "t" [:all-back] :long :string))

;; What Levin does not have answers with a clear error.
(try (d/new-search-engine kv)
     (catch Exception e (println "unsupported:" (ex-message e) (ex-data e))))

(d/close-kv kv)
(d/close conn)
(pods/unload-pod pod)
