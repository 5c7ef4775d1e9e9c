//! The scanner on arbitrary bytes, read in ranges cut at arbitrary places: the hits of the
//! ranges together are exactly the hits of one pass over the whole buffer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stowaway::parts::{Hit, ScanBuffer, Scanner};

fuzz_target!(|input: (u16, u16, Vec<u8>)| {
    let (a, b, data) = input;
    let len = data.len() as u64;
    let (a, b) = (u64::from(a).min(len), u64::from(b).min(len));
    let (first, second) = (a.min(b), a.max(b));
    let scanner = Scanner::new("/nix/store", ["0c0v9w0m4a9kcs2l4f4fyd8aspqvzd0f"]);
    let whole = scanner.scan_bytes(&data);
    let dir = std::env::temp_dir().join(format!("stowaway-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("input");
    std::fs::write(&path, &data).expect("temp file");
    let file = std::fs::File::open(&path).expect("temp file");
    let mut buffer = ScanBuffer::new(4096);
    let mut hits = Vec::new();
    for range in [0..first, first..second, second..len] {
        scanner
            .scan_file_range(&file, len, range, &mut buffer, &mut |hit: Hit| hits.push(hit))
            .expect("read");
    }
    assert_eq!(hits, whole);
});
