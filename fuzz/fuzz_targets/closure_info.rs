//! Arbitrary bytes as a closure-info file: parsed or refused, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stowaway::parts::parse_closure_info as parse;
use stowaway::parts::SizeSource;

fuzz_target!(|data: &[u8]| {
    let _ = parse(data, "/nix/store", SizeSource::ClosureInfo);
});
