//! Quantities as people read and write them: byte sizes (parsed from flags and the policy
//! file, printed in reports) and counted nouns (`1 file`, `2 directories`).
//!
//! One reading of sizes for every place that takes one (issue 15): `K`, `M`, `G`, `T` and
//! `KiB`, `MiB`, `GiB`, `TiB` are powers of 1024; `KB`, `MB`, `GB`, `TB` (and `kB`) are
//! powers of 1000, as GNU coreutils reads them. Case does not matter, a space may separate
//! the number from its unit, and the number may have a fraction (`1.5G`).

/// Sizes in binary units with one decimal, as `nix path-info -h` prints them: `512 B`,
/// `24.6 KiB`, `51.2 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Reads a byte size (see the module's units). Zero is a size; a negative number, an
/// unknown unit or more than 2^64 bytes is not.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "ki" | "kib" => 1024.0,
        "m" | "mi" | "mib" => 1024.0 * 1024.0,
        "g" | "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "ti" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => {
            return Err(format!(
                "{text:?} is not a size: unknown unit {:?} (K, M, G, T are powers of 1024, KB, MB, GB, TB of 1000)",
                unit.trim()
            ))
        }
    };
    let number: f64 = number
        .parse()
        .ok()
        .filter(|_| !number.is_empty())
        .ok_or_else(|| format!("{text:?} is not a size (a number of bytes, or e.g. \"512M\", \"60 MiB\", \"5 MB\")"))?;
    let bytes = (number * factor).round();
    if bytes >= u64::MAX as f64 {
        return Err(format!("{text:?} is too large a size"));
    }
    Ok(bytes as u64)
}

/// A byte size as a flag takes it and shows it: parsed by [`parse_size`], shown in its largest
/// whole binary unit (`512M`, `1G`) so that what is shown reads back the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shift = ["T", "G", "M", "K"]
            .into_iter()
            .zip([40, 30, 20, 10])
            .find(|&(_, shift)| self.0 != 0 && self.0.is_multiple_of(1 << shift));
        match shift {
            Some((unit, shift)) => write!(f, "{}{unit}", self.0 >> shift),
            None => write!(f, "{}", self.0),
        }
    }
}

impl std::str::FromStr for ByteSize {
    type Err = String;

    fn from_str(text: &str) -> Result<ByteSize, String> {
        parse_size(text).map(ByteSize)
    }
}

/// `n` and the noun that goes with it: `one` for 1, `many` otherwise (`2 directories`).
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `1 file`, `2 files`: [`counted`] for a noun that takes an `s`.
pub fn plural(n: u64, noun: &str) -> String {
    counted(n, noun, &format!("{noun}s"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_nix_path_info_h() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(31104), "30.4 KiB");
        assert_eq!(human_bytes(51 * 1024 * 1024 + 200 * 1024), "51.2 MiB");
    }

    #[test]
    fn one_reading_of_units_for_flags_and_the_policy() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("60 MiB"), Ok(60 << 20));
        assert_eq!(parse_size("1.5 GiB"), Ok(3 << 29));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("3t"), Ok(3 << 40));
        assert_eq!(parse_size("1k"), Ok(1024));
        // The decimal units, as GNU coreutils reads them.
        assert_eq!(parse_size("5MB"), Ok(5_000_000));
        assert_eq!(parse_size("5mb"), Ok(5_000_000));
        assert_eq!(parse_size("1kB"), Ok(1000));
        assert_eq!(parse_size("2 GB"), Ok(2_000_000_000));
        for bad in ["", "G", "-1", "-1 MiB", "1.2.3K", "60 MeB", "12Q"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        assert!(parse_size("12Q").unwrap_err().contains("unknown unit"));
        assert!(parse_size("99999999999T")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn sizes_show_in_their_largest_whole_unit_and_read_back() {
        let shown = |n| ByteSize(n).to_string();
        assert_eq!(shown(1 << 30), "1G");
        assert_eq!(shown(512 << 20), "512M");
        assert_eq!(shown(1536 << 20), "1536M");
        assert_eq!(shown(1000), "1000");
        assert_eq!(shown(0), "0");
        for n in [0, 1, 1 << 10, 3 << 40, 12345 << 20] {
            assert_eq!(shown(n).parse(), Ok(ByteSize(n)));
        }
    }

    #[test]
    fn nouns_are_counted() {
        assert_eq!(plural(1, "file"), "1 file");
        assert_eq!(plural(0, "file"), "0 files");
        assert_eq!(counted(2, "directory", "directories"), "2 directories");
    }
}
