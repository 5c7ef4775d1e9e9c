//! Places in the TOML files users write (rule packs, the policy file), for messages that
//! point at them: `file:line:column` of a byte offset, and toml's own errors on one line.

/// `name:line:column` of the byte at `offset` of `text` (lines and columns count from 1).
pub fn position(name: &str, text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = line(text, offset);
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{name}:{line}:{column}")
}

/// The line (from 1) of the byte at `offset` of `text`.
pub fn line(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A TOML parse error of file `name` on one line (toml's message names the line and column
/// and quotes the spot over several lines).
pub fn error(name: &str, err: &toml::de::Error) -> String {
    format!("{name}: {}", err.to_string().replace('\n', " ").trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_from_one() {
        let text = "a = 1\nbb = \"x\"\n";
        assert_eq!(position("f.toml", text, 0), "f.toml:1:1");
        assert_eq!(position("f.toml", text, 11), "f.toml:2:6");
        assert_eq!(position("f.toml", text, 999), "f.toml:3:1");
    }
}
