//! Arbitrary bytes as the files stowaway reads back: two saved reports for `stowaway diff`
//! (split at the first NUL byte) and a baseline. Each is read or refused, never a panic; two
//! reports that are read compare and render in both diff formats; and any bytes escaped for
//! display unescape to themselves.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use stowaway::parts::DiffFormat;
use stowaway::parts::{escape_bytes, unescape};

fuzz_target!(|data: &[u8]| {
    let (old, new) = match data.iter().position(|&b| b == 0) {
        Some(cut) => (&data[..cut], &data[cut + 1..]),
        None => (data, data),
    };
    let path = Path::new("fuzz.json");
    let sides = (
        stowaway::parts::read_report(path, old),
        stowaway::parts::read_report(path, new),
    );
    if let (Ok(old), Ok(new)) = sides {
        let diff = stowaway::parts::compare(old, new);
        for format in [DiffFormat::Human, DiffFormat::Json] {
            stowaway::parts::write_diff(&mut Vec::new(), &diff, format, true)
                .expect("writing to memory cannot fail");
        }
    }
    let _ = stowaway::parts::parse_baseline("fuzz.json", data);
    assert_eq!(unescape(&escape_bytes(data)), data);
});
