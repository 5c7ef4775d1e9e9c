//! An OCI image layout given as a directory: `oci-layout`, `index.json` and
//! `blobs/<alg>/<digest>` read as files, each layer blob in two passes (list, then visit).
//!
//! Only regular files are read: a blob (or `blobs/…` directory) that is a symlink is an
//! error rather than a link followed out of the layout.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::decompress::{decompress, Peeked, Stream};
use super::detect::{sniff, Compression, Sniffed};
use super::error::{shown, Error};
use super::image::{self, Blobs, Image};
use super::layers::{self, Filesystem, LayerCheck, MemberBudget};
use super::limits::Limits;
use super::member::Member;
use super::tar_archive::MAX_JSON_BYTES;
use super::tar_stream::TarStream;

pub(crate) struct DirPlan {
    pub(crate) image: Image,
    pub(crate) filesystem: Filesystem,
    checks: Vec<LayerCheck>,
    blob_files: Vec<PathBuf>,
}

/// Whether `dir` has the two files that make an OCI image layout.
pub(crate) fn is_layout(dir: &Path) -> bool {
    dir.join("oci-layout").is_file() && dir.join("index.json").is_file()
}

/// Opens a file of the layout by its relative path, refusing symlinks on the way.
fn open_in(dir: &Path, relative: &[u8]) -> Result<(File, u64), Error> {
    let mut path = dir.to_path_buf();
    for component in relative.split(|&b| b == b'/') {
        path.push(OsStr::from_bytes(component));
        let metadata =
            std::fs::symlink_metadata(&path).map_err(|e| Error::from_io(e).at(shown(relative)))?;
        if metadata.file_type().is_symlink() {
            return Err(Error::unsupported(format!(
                "{} is a symlink; the layout is read without following links",
                path.display()
            )));
        }
    }
    let file = File::open(&path).map_err(|e| Error::from_io(e).at(shown(relative)))?;
    let metadata = file.metadata().map_err(Error::from_io)?;
    if !metadata.is_file() {
        return Err(Error::malformed(format!(
            "{} is not a regular file",
            shown(relative)
        )));
    }
    Ok((file, metadata.len()))
}

struct DirBlobs<'a> {
    dir: &'a Path,
}

impl Blobs for DirBlobs<'_> {
    fn json(&mut self, path: &[u8]) -> Result<Vec<u8>, Error> {
        let (file, len) = open_in(self.dir, path)?;
        if len > MAX_JSON_BYTES {
            return Err(Error::limit(format!(
                "{} has {len} bytes, over the {MAX_JSON_BYTES}-byte bound for image metadata",
                shown(path)
            )));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(MAX_JSON_BYTES)
            .read_to_end(&mut bytes)
            .map_err(Error::from_io)?;
        Ok(bytes)
    }
}

/// A layer blob, decompressed, and the compression it had.
fn layer_stream<'a>(file: File, limits: &Limits) -> Result<(Compression, Stream<'a>), Error> {
    let peeked = Peeked::new(BufReader::with_capacity(256 << 10, file)).map_err(Error::from_io)?;
    let compression = match sniff(peeked.head()) {
        Sniffed::Tar => Compression::None,
        Sniffed::Compressed(compression) => compression,
        Sniffed::Nar | Sniffed::Other => return Err(Error::malformed("the blob is not a tar")),
    };
    let stream = decompress(compression, peeked, limits).map_err(Error::from_io)?;
    Ok((compression, stream))
}

pub(crate) fn pass1(dir: &Path, limits: &Limits) -> Result<DirPlan, Error> {
    let mut blobs = DirBlobs { dir };
    let index = blobs.json(b"index.json")?;
    let plan = image::oci(&index, &mut blobs)?;
    let mut image = plan.image;
    let mut filesystem = Filesystem::default();
    let mut checks = Vec::new();
    let mut blob_files = Vec::new();
    let mut budget = MemberBudget::new(limits);
    for (i, blob) in plan.layer_blobs.iter().enumerate() {
        let place = format!("layer {i} ({})", shown(blob));
        let (file, stored_bytes) = open_in(dir, blob).map_err(|e| e.at(&place))?;
        let (compression, stream) = layer_stream(file, limits).map_err(|e| e.at(&place))?;
        if let Some(announced) = plan.announced[i] {
            if announced != compression {
                return Err(Error::malformed(format!(
                    "the media type says {} but the blob is {}",
                    announced.name(),
                    compression.name()
                ))
                .at(&place));
            }
        }
        let listing =
            layers::list(TarStream::new(stream, limits), &mut budget).map_err(|e| e.at(&place))?;
        let layer = &mut image.layers[i];
        layer.compression = compression;
        layer.stored_bytes = stored_bytes;
        layer.tar_bytes = listing.tar_bytes;
        layer.members = listing.check.members;
        checks.push(listing.check);
        filesystem
            .apply(i as u32, listing, true)
            .map_err(|e| e.at(&place))?;
        blob_files.push(dir.join(OsStr::from_bytes(blob)));
    }
    filesystem.finish();
    Ok(DirPlan {
        image,
        filesystem,
        checks,
        blob_files,
    })
}

pub(crate) fn pass2(
    plan: &DirPlan,
    limits: &Limits,
    visit: &mut dyn FnMut(Member<'_>) -> anyhow::Result<()>,
) -> Result<u64, Error> {
    let mut visited = 0;
    for (i, path) in plan.blob_files.iter().enumerate() {
        let place = format!("layer {i} ({})", plan.image.layers[i].blob);
        let file = File::open(path).map_err(|e| Error::from_io(e).at(&place))?;
        let (_, stream) = layer_stream(file, limits).map_err(|e| e.at(&place))?;
        visited += layers::visit_layer(
            TarStream::new(stream, limits),
            &[i as u32],
            &plan.checks,
            &plan.filesystem,
            true,
            visit,
        )
        .map_err(|e| e.at(&place))?;
    }
    Ok(visited)
}
