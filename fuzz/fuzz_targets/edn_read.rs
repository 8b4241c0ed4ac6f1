//! Fuzz target: the EDN reader must return a value or an error for any text, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(v) = levin_edn::read(text) {
            // Whatever it read must print and read back without panicking.
            let printed = levin_edn::to_pretty_string(&v, 60);
            let _ = levin_edn::read(&printed);
        }
    }
});
