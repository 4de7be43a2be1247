//! Restores an arbitrary line as if it were a `lavoir run --jsonl` output
//! record: must never panic (an Err is fine).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let _ = lavoir::jsonl::restore_record(line, "text");
});
