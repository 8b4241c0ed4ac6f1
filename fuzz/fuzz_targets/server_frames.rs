//! Fuzz target: what a server reads from an unauthenticated peer (frames, then their
//! transit payloads, then request maps) is decoded into a value or an error for any bytes,
//! never a panic, and the frame reader never allocates past its limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    // The pre-authentication limit, as the server applies it.
    for _ in 0..8 {
        match levin_server::read_frame(&mut input, 4096) {
            Ok(Some(payload)) => {
                assert!(payload.len() <= 4096);
                if let Ok(v) = levin_edn::transit::read_slice(&payload) {
                    let _ = levin_server::Request::from_edn(v);
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
});
