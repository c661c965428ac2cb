//! Fuzzes the YAML pattern loader: any text either loads into patterns that
//! build a scanner, or fails with an error; nothing panics.
#![no_main]

use aistamp_pii::{Scanner, load_patterns_from_yaml_str};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match load_patterns_from_yaml_str(text) {
        Ok(patterns) => {
            let scanner = Scanner::builder()
                .add_patterns(patterns)
                .build()
                .expect("loaded patterns always build");
            let _ = scanner.scan("mail a@example.com, EMP-123456, 10.0.0.1 and more text");
        }
        Err(err) => {
            let _ = err.to_string();
        }
    }
});
