//! Arbitrary text into the store-path parser and the name parser: an error or a value,
//! never a panic; a parsed path prints back as what was parsed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stowaway::parts::{parse_name, StorePath};

fuzz_target!(|text: &str| {
    let _ = parse_name(text);
    if let Ok(path) = StorePath::parse(text, "/nix/store") {
        assert_eq!(StorePath::parse(&path.to_path_string("/nix/store"), "/nix/store").as_ref(), Ok(&path));
        let _ = path.package();
    }
    let _ = StorePath::parse_with_subpath(text, "/nix/store");
});
