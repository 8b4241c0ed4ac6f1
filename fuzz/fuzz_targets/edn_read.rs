//! Fuzz target: the EDN reader must return a value or an error for any text, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(v) = levin_query::edn::read(text) {
            // Whatever it read must print and read back without panicking.
            let printed = levin_query::edn::to_pretty_string(&v, 60);
            let _ = levin_query::edn::read(&printed);
        }
    }
});
