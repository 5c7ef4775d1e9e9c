//! Arbitrary bytes as a closure-info file: parsed or refused, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stowaway::closure::info_file::parse;
use stowaway::findings::SizeSource;

fuzz_target!(|data: &[u8]| {
    let _ = parse(data, "/nix/store", SizeSource::ClosureInfo);
});
