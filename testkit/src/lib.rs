//! levin-testkit: test support for Levin's crash and fault tests.
//!
//! - [`fault`]: [`Recorder`], a [`levin_pager::IoHook`] that lets every write, sync and
//!   resize through to the real file, logs them (offset, bytes, sync barriers),
//!   and injects failures on request (the Nth write, sync or resize; a torn failing write;
//!   a device that dies after N operations).
//! - [`image`]: from a recorded [`Log`], builds what the disk could hold after a power loss
//!   at any point: everything up to the last completed sync, plus any subset, prefix or
//!   reordering of the unsynced writes since, with possibly one torn write.
//! - [`model`]: [`History`], the commits of a recorded run with the log position of their
//!   meta write, and [`verify_image`], which opens a crash image and checks it holds exactly
//!   one commit that may legally have survived, with a clean integrity check.
//! - [`workload`]: a seeded random workload on 512-byte pages with its model, recording
//!   every commit attempt in a [`History`].

#![forbid(unsafe_code)]

pub mod fault;
pub mod image;
pub mod model;
pub mod workload;

pub use fault::{Event, FaultPlan, Recorder};
pub use image::{Crash, CrashKind, Log, Tear};
pub use model::{snapshot, verify_image, Commit, History, Snapshot, Verdict};
pub use workload::{Mode, Model, Workload};
