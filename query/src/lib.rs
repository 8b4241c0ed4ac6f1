//! Levin's query layer: EDN reading and printing, and (later) the Datalog query engine.
#![forbid(unsafe_code)]

pub mod edn;
