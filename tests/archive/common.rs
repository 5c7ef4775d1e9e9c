//! Helpers: run a tool, build the Nix fixtures, write scratch files, walk a tree on disk, and collect what a
//! visit hands over, in the same shape, so the two compare with `assert_eq!`.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use stowaway::archive::{self, Archive, Limits, MemberKind};

/// A member as seen on disk or through a visit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Directory,
    Symlink(Vec<u8>),
    File { executable: bool, contents: Vec<u8> },
}

/// What one visit saw: path → node (hard links resolved to their target's contents),
/// plus each file's offset and layer.
#[derive(Default)]
pub struct Visited {
    pub nodes: BTreeMap<Vec<u8>, Node>,
    pub offsets: BTreeMap<Vec<u8>, u64>,
    pub layers: BTreeMap<Vec<u8>, Option<usize>>,
    pub hard_links: BTreeMap<Vec<u8>, Vec<u8>>,
    pub summary: Option<archive::Summary>,
}

pub fn run(command: &mut Command) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e} (install it: tests/setup.sh)"));
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

pub fn nix(program: &str) -> Command {
    let mut command = Command::new(program);
    if std::env::var_os("NIX_CONFIG").is_none() {
        command.env(
            "NIX_CONFIG",
            "sandbox = false\nbuild-users-group =\nsubstituters =\nexperimental-features = nix-command flakes",
        );
    }
    command
}

/// The fixtures these tests archive, by attribute of fixtures/nix/fixtures.nix: a static
/// executable, a script, symlinks into other store paths, a real bash binary.
pub const ATTRIBUTES: [&str; 5] = ["app-static", "script", "links", "zlib", "bash"];

/// Builds [`ATTRIBUTES`] once per run; attribute → store path.
pub fn store_paths() -> &'static BTreeMap<&'static str, String> {
    static PATHS: OnceLock<BTreeMap<&'static str, String>> = OnceLock::new();
    PATHS.get_or_init(|| build_fixtures(&ATTRIBUTES))
}

/// Builds the given attributes of fixtures/nix/fixtures.nix; attribute → store path.
pub fn build_fixtures(attributes: &[&'static str]) -> BTreeMap<&'static str, String> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/nix/fixtures.nix");
    let mut command = nix("nix-build");
    command.arg(&file).arg("--no-out-link");
    for attribute in attributes {
        command.args(["-A", attribute]);
    }
    let stdout = String::from_utf8(run(&mut command)).unwrap();
    let paths: Vec<String> = stdout.lines().map(str::to_string).collect();
    assert_eq!(paths.len(), attributes.len(), "{paths:?}");
    attributes.iter().copied().zip(paths).collect()
}

/// Compresses `file` with the real `tool` (xz, zstd, gzip, bzip2), keeping it; the
/// compressed file, named with `extension`.
pub fn compress(tool: &str, extension: &str, file: &Path) -> PathBuf {
    run(Command::new(tool).args(["-k", "-f", "-q"]).arg(file));
    let mut name = file.as_os_str().to_owned();
    name.push(format!(".{extension}"));
    name.into()
}

/// A temporary directory to write archives into.
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    pub fn new() -> Scratch {
        Scratch(tempfile::tempdir().unwrap())
    }

    /// Where `name` is (or will be) in it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// `nix path-info --json`'s narSize of a store path.
pub fn nar_size(store_path: &str) -> u64 {
    let json = run(nix("nix").args(["path-info", "--json", store_path]));
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let entry = match &value {
        serde_json::Value::Array(entries) => &entries[0],
        serde_json::Value::Object(map) => map.values().next().unwrap(),
        other => panic!("unexpected path-info: {other}"),
    };
    entry["narSize"].as_u64().unwrap()
}

/// Every node under `root` on disk, by path relative to it (`root` itself is the empty
/// path when `with_root`). Hard links on disk are just files here.
pub fn walk(root: &Path, with_root: bool) -> BTreeMap<Vec<u8>, Node> {
    let mut nodes = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        let relative = path
            .strip_prefix(root)
            .unwrap()
            .as_os_str()
            .as_bytes()
            .to_vec();
        let metadata = std::fs::symlink_metadata(&path).unwrap();
        let node = if metadata.file_type().is_symlink() {
            Node::Symlink(
                std::fs::read_link(&path)
                    .unwrap()
                    .as_os_str()
                    .as_bytes()
                    .to_vec(),
            )
        } else if metadata.is_dir() {
            for child in std::fs::read_dir(&path).unwrap() {
                pending.push(child.unwrap().path());
            }
            Node::Directory
        } else {
            Node::File {
                executable: metadata.permissions().mode() & 0o100 != 0,
                contents: std::fs::read(&path).unwrap(),
            }
        };
        if with_root || !relative.is_empty() {
            nodes.insert(relative, node);
        }
    }
    nodes
}

/// Opens `path`, which must be an archive.
pub fn open(path: &Path) -> Archive {
    match archive::open(path, &Limits::default()) {
        Ok(Some(archive)) => archive,
        Ok(None) => panic!("{}: not recognised as an archive", path.display()),
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// Visits the whole archive, reading every file in chunks as a scanner would.
pub fn visit(archive: &Archive) -> Visited {
    let mut seen = Visited::default();
    let summary = archive
        .visit(&mut |member| {
            let path = member.path.to_vec();
            seen.layers.insert(path.clone(), member.layer);
            let node = match member.kind {
                MemberKind::Directory => Node::Directory,
                MemberKind::Symlink { target } => Node::Symlink(target.to_vec()),
                MemberKind::Special => panic!("no special files in these archives"),
                MemberKind::HardLink { target, .. } => {
                    seen.hard_links.insert(path, target.to_vec());
                    return Ok(());
                }
                MemberKind::File(mut file) => {
                    let mut contents = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let n = std::io::Read::read(&mut file.contents, &mut chunk)?;
                        if n == 0 {
                            break;
                        }
                        contents.extend_from_slice(&chunk[..n]);
                    }
                    assert_eq!(contents.len() as u64, file.size);
                    seen.offsets.insert(path.clone(), file.offset);
                    Node::File {
                        executable: file.executable,
                        contents,
                    }
                }
            };
            assert!(
                seen.nodes.insert(path.clone(), node).is_none(),
                "visited twice: {path:?}"
            );
            Ok(())
        })
        .unwrap_or_else(|e| panic!("visit: {e}"));
    // A hard link shows its target's contents (the target is visited in the same visit).
    for (link, target) in &seen.hard_links {
        let node = seen
            .nodes
            .get(target)
            .cloned()
            .unwrap_or_else(|| panic!("link to unvisited {target:?}"));
        seen.nodes.insert(link.clone(), node);
    }
    seen.summary = Some(summary);
    seen
}

/// `paths` as text, for readable assertion messages.
pub fn texts<'a>(paths: impl IntoIterator<Item = &'a Vec<u8>>) -> Vec<String> {
    paths
        .into_iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

// Archives written byte by byte, as a hostile writer makes them.

/// A NAR string: its length as u64 LE, its bytes, zero padding to a multiple of 8.
pub fn token(s: &[u8]) -> Vec<u8> {
    let mut out = (s.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(s);
    out.resize(out.len() + (8 - s.len() % 8) % 8, 0);
    out
}

pub fn tokens(list: &[&[u8]]) -> Vec<u8> {
    list.iter().flat_map(|t| token(t)).collect()
}

/// A NAR regular file node (not executable).
pub fn nar_file(contents: &[u8]) -> Vec<u8> {
    tokens(&[b"(", b"type", b"regular", b"contents", contents, b")"])
}

/// A NAR directory node with these entries, in the order given (sorted or not).
pub fn nar_directory(entries: &[(&[u8], Vec<u8>)]) -> Vec<u8> {
    let mut out = tokens(&[b"(", b"type", b"directory"]);
    for (name, node) in entries {
        out.extend(tokens(&[b"entry", b"(", b"name", name, b"node"]));
        out.extend_from_slice(node);
        out.extend(token(b")"));
    }
    out.extend(token(b")"));
    out
}

/// A whole NAR: the magic, then `node`.
pub fn nar(node: Vec<u8>) -> Vec<u8> {
    let mut out = token(b"nix-archive-1");
    out.extend(node);
    out
}

/// A tar header with a raw name and link, as a hostile writer makes them.
pub fn tar_header(name: &[u8], type_flag: u8, size: u64, link: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_ustar();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.as_old_mut().linkname[..link.len()].copy_from_slice(link);
    header.set_size(size);
    header.set_mode(0o644);
    header.as_mut_bytes()[156] = type_flag;
    header.set_cksum();
    header.as_bytes().to_vec()
}

/// A regular file member with its data, padded to a block.
pub fn tar_member(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = tar_header(name, b'0', data.len() as u64, b"");
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// A tar of these members and the two end blocks.
pub fn tar_of(members: &[Vec<u8>]) -> Vec<u8> {
    let mut out = members.concat();
    out.extend_from_slice(&[0; 1024]);
    out
}
