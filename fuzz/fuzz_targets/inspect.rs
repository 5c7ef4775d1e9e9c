//! Arbitrary bytes into the inspection entry point, as an ELF file or an archive: whatever the
//! headers claim, inspection returns a place per offset or an error, never a panic, and never
//! allocates more than the limits allow.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use stowaway::parts::{inspect, sniff, FileFormat as Format};

fuzz_target!(|data: &[u8]| {
    let len = data.len() as u64;
    let offsets = [0, len / 3, len / 2, len.saturating_sub(1), len + 10];
    let wanted: HashSet<&str> = ["_rjem_mallocx", "io_uring_submit", "main"].into_iter().collect();
    // As the file says it is, and forced into each parser.
    for format in [sniff(data), Format::Elf, Format::Archive] {
        if let Ok(inspection) = inspect(&data, len, format, &offsets, &wanted) {
            assert_eq!(inspection.places.len(), offsets.len());
        }
    }
});
