//! How the human and Markdown reports word an audited archive's `image` section (issue 14):
//! what the archive is, what it holds, and for each store path its size, what removing it
//! would save and the chain of references that brings it in.

use crate::model::{ChainLink, ImagePath, ImageSection, Via};
use crate::units::{human_bytes, plural};

/// The archive in one line: `image.tar.gz (docker-archive, gzip; 2 layers; tagged
/// example/app:1)`.
pub fn title(section: &ImageSection) -> String {
    let mut facts = vec![section.format.to_string()];
    if let Some(compression) = section.compression.filter(|c| *c != "none") {
        facts[0].push_str(&format!(", {compression}"));
    }
    if !section.layers.is_empty() {
        facts.push(plural(section.layers.len() as u64, "layer"));
    }
    if !section.repo_tags.is_empty() {
        facts.push(format!("tagged {}", section.repo_tags.join(", ")));
    }
    if section.format == "nar" {
        facts.push(match &section.store_path {
            Some(path) => format!("holds {path}"),
            None => "store path unknown: the file is not named <hash>-<name>.nar".into(),
        });
    }
    format!("{} ({})", section.target, facts.join("; "))
}

/// What it holds: `438.4 KiB: 7 store paths (437.5 KiB), other files 856 B; dead weight
/// 24.6 KiB in 1 store path`.
pub fn holdings(section: &ImageSection) -> String {
    let mut text = format!(
        "{}: {} ({}), other files {}",
        human_bytes(section.total_bytes),
        plural(section.paths.len() as u64, "store path"),
        human_bytes(section.store_bytes),
        human_bytes(section.other_bytes)
    );
    let dead = section.paths.iter().filter(|p| !p.reached).count() as u64;
    if dead > 0 {
        text.push_str(&format!(
            "; dead weight {} in {}",
            human_bytes(section.dead_weight.bytes),
            plural(dead, "store path")
        ));
    }
    text
}

/// The name of a store path without its directory and hash: `solo-0.3`.
pub fn name_of(store_path: &str) -> &str {
    let base = store_path.rsplit('/').next().unwrap_or(store_path);
    base.split_once('-').map_or(base, |(_, name)| name)
}

/// A file as a link of a chain names it: inside the store path it lies in, when it does
/// (`bin/diamond`), else as the archive has it.
fn file_in(file: &str, previous: Option<&ChainLink>) -> String {
    let inside = previous.and_then(|p| {
        let base = p.store_path.trim_start_matches('/');
        file.strip_prefix(base)?.strip_prefix('/')
    });
    inside.unwrap_or(file).to_string()
}

/// Why a path is in the archive: `entrypoint: diamond-1.0 → solo-0.3 (bin/diamond) →
/// deep-2.0 (lib/libsolo.so)`, each parenthesis the file of the path before that names it.
pub fn why(path: &ImagePath) -> String {
    let Some(first) = path.chain.first() else {
        return String::new();
    };
    let lead = match first.via {
        Via::Entrypoint => "entrypoint".to_string(),
        Via::Cmd => "cmd".to_string(),
        Via::Archive => "the archive's own store path".to_string(),
        Via::File => format!("file {}", first.file.as_deref().unwrap_or("?")),
        Via::Unreferenced => "nothing references".to_string(),
        Via::Reference => "referenced".to_string(),
    };
    let mut text = format!("{lead}: {}", name_of(&first.store_path));
    for pair in path.chain.windows(2) {
        let (previous, link) = (&pair[0], &pair[1]);
        text.push_str(&format!(" → {}", name_of(&link.store_path)));
        if let Some(file) = &link.file {
            text.push_str(&format!(" ({})", file_in(file, Some(previous))));
        }
    }
    text
}
