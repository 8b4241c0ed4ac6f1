//! Fuzz target: the pod's bencode reader returns values or errors for any bytes, never
//! panics, recovers from malformed input without looping, and every value it reads
//! encodes to bytes that read back to an equal value.
#![no_main]

use levin_pod::bencode::{decode, to_vec, Reader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((v, _)) = decode(data) {
        let bytes = to_vec(&v);
        assert_eq!(
            decode(&bytes).map(|(b, n)| (b, n == bytes.len())),
            Ok((v, true))
        );
    }
    // As the pod reads its input: message after message, resynchronising after errors.
    let mut r = Reader::new(data);
    let mut last = u64::MAX;
    loop {
        match r.read_message() {
            Ok(None) => break,
            Ok(Some(_)) => {}
            Err(f) => {
                if f.error.is_fatal() || r.resync().is_err() {
                    break;
                }
            }
        }
        assert_ne!(r.offset(), last, "no progress");
        last = r.offset();
    }
});
