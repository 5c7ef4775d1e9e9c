//! Arbitrary text as a rule pack and as a policy file: loaded or refused with messages that
//! point into it, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use stowaway::parts::Policy;
use stowaway::parts::Catalogue;

fuzz_target!(|text: &str| {
    let catalogue = Catalogue::load(None, Some(&("fuzz.toml".to_string(), text.to_string())));
    let _ = Policy::parse("fuzz.toml", text, catalogue.as_ref().ok());
});
