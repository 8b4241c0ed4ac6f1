//! Fuzz target: the transit+json reader returns a value or an error for any bytes, never
//! panics, and whatever it reads writes back as transit that reads to an equal value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = levin_edn::transit::read_slice(data) {
        let text = levin_edn::transit::write(&v);
        match levin_edn::transit::read(&text) {
            Ok(back) => assert_eq!(back, v, "{text}"),
            Err(e) => panic!("write(read(x)) does not read back: {e}\n{text}"),
        }
    }
});
