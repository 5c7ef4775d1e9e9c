//! A tar file, plain or compressed, in two passes: a plain tar, a docker-archive, or an
//! OCI layout packed as a tar.
//!
//! Pass 1 reads the outer tar once: it lists every member, keeps the small JSON members
//! an image needs (`manifest.json`, `index.json`, `oci-layout`, top-level `*.json`,
//! `blobs/<alg>/<digest>`) within [`Limits::max_metadata_bytes`], and lists the headers of
//! every member that is itself a tar (plain or compressed) — a docker-archive may put
//! `manifest.json` last, so which members are layers is known only at the end. Then it
//! decides: a `manifest.json` of the docker-archive shape makes a docker-archive,
//! `oci-layout` + `index.json` an OCI layout, anything else a plain tar (its nested tars
//! are then just files). Pass 2 reads the outer tar again and visits the final
//! filesystem's members from each layer member as it comes, in archive order.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::decompress::{decompress, Peeked, Stream};
use super::detect::{sniff, Compression, Sniffed};
use super::error::{shown, Error};
use super::image::{self, Blobs, Image, ImagePlan};
use super::layers::{self, Filesystem, LayerCheck, LayerListing, ListingBuilder, MemberBudget};
use super::limits::Limits;
use super::member::Member;
use super::member_path::split_last;
use super::tar_stream::{TarKind, TarStream};

/// JSON documents larger than this are not image metadata.
pub(crate) const MAX_JSON_BYTES: u64 = 16 << 20;

const READ_BUFFER_BYTES: usize = 256 << 10;

/// What pass 1 learnt, for pass 2.
pub(crate) struct TarPlan {
    compression: Compression,
    pub(crate) filesystem: Filesystem,
    pub(crate) image: Option<Image>,
    /// Outer member ordinal → the layers it is (empty for a plain tar).
    layer_members: HashMap<u64, Vec<u32>>,
    checks: Vec<LayerCheck>,
}

/// A nested tar found in pass 1: its listing, or why it could not be listed (which
/// matters only if it turns out to be a layer).
struct Nested {
    listing: Result<LayerListing, Error>,
    compression: Compression,
    stored_bytes: u64,
}

pub(crate) fn open_stream<'a>(
    path: &Path,
    compression: Compression,
    limits: &Limits,
) -> Result<Stream<'a>, Error> {
    let file = File::open(path).map_err(Error::from_io)?;
    decompress(
        compression,
        BufReader::with_capacity(READ_BUFFER_BYTES, file),
        limits,
    )
    .map_err(Error::from_io)
}

/// Whether a member at `path` may be image metadata worth keeping.
fn may_be_metadata(path: &[u8]) -> bool {
    let (parent, name) = split_last(path);
    if parent.is_empty() {
        return name.ends_with(b".json") || name == b"oci-layout";
    }
    let (grandparent, _) = split_last(parent);
    grandparent == b"blobs"
}

fn looks_like_json(head: &[u8]) -> bool {
    head.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{' || b == b'[')
}

pub(crate) fn pass1(
    path: &Path,
    compression: Compression,
    limits: &Limits,
) -> Result<TarPlan, Error> {
    let mut stream = TarStream::new(open_stream(path, compression, limits)?, limits);
    let mut budget = MemberBudget::new(limits);
    let mut outer = ListingBuilder::default();
    let mut json: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    let mut json_bytes = 0u64;
    let mut nested: HashMap<u64, Nested> = HashMap::new();
    let mut ordinal = 0u64;
    while let Some(entry) = stream.next_entry()? {
        let this = ordinal;
        ordinal += 1;
        if matches!(entry.kind, TarKind::File { .. }) && entry.size > 0 {
            let place = || format!("member {}", shown(&entry.path));
            let mut data = Peeked::new(stream.data()).map_err(|e| Error::from_io(e).at(place()))?;
            if looks_like_json(data.head()) {
                if may_be_metadata(&entry.path) && entry.size <= MAX_JSON_BYTES {
                    json_bytes += entry.size;
                    if json_bytes > limits.max_metadata_bytes {
                        return Err(Error::limit(format!(
                            "JSON members add up to more than {} bytes (the bound on metadata)",
                            limits.max_metadata_bytes
                        ))
                        .at(place()));
                    }
                    let mut bytes = Vec::with_capacity(entry.size as usize);
                    data.read_to_end(&mut bytes)
                        .map_err(|e| Error::from_io(e).at(place()))?;
                    json.insert(entry.path.clone(), bytes);
                }
            } else if let Some((compression, listing)) = list_nested(data, limits, &mut budget) {
                let listing = listing.map_err(|e| e.at(place()));
                nested.insert(
                    this,
                    Nested {
                        listing,
                        compression,
                        stored_bytes: entry.size,
                    },
                );
            }
        }
        outer.add(entry, &mut budget)?;
    }
    let outer = outer.finish(stream.position());
    drop(stream);

    let mut blobs = JsonMembers { json: &json };
    let mut plan = match json.get(&b"manifest.json"[..]) {
        Some(manifest) => image::docker(manifest, &mut blobs, limits)?,
        None => None,
    };
    if plan.is_none() && json.contains_key(&b"oci-layout"[..]) {
        if let Some(index) = json.get(&b"index.json"[..]) {
            plan = Some(image::oci(index, &mut blobs)?);
        }
    }
    let outer_check = outer.check;
    let mut outer_filesystem = Filesystem::default();
    outer_filesystem.apply(0, outer, false)?;
    outer_filesystem.finish();
    let Some(plan) = plan else {
        return Ok(TarPlan {
            compression,
            filesystem: outer_filesystem,
            image: None,
            layer_members: HashMap::new(),
            checks: vec![outer_check],
        });
    };
    image_plan(plan, &outer_filesystem, nested, compression)
}

/// The listing of a member that is a tar, plain or compressed; `None` if it is not one.
fn list_nested<R: Read>(
    data: Peeked<R>,
    limits: &Limits,
    budget: &mut MemberBudget,
) -> Option<(Compression, Result<LayerListing, Error>)> {
    match sniff(data.head()) {
        Sniffed::Tar => Some((
            Compression::None,
            layers::list(TarStream::new(data, limits), budget),
        )),
        Sniffed::Compressed(compression) => {
            let inner = match decompress(compression, data, limits).and_then(Peeked::new) {
                Ok(inner) => inner,
                // A compressed member that will not even start to decompress is not a
                // layer this archive can use; it is only an error if the manifest says it is.
                Err(e) => return Some((compression, Err(Error::from_io(e)))),
            };
            (sniff(inner.head()) == Sniffed::Tar).then(|| {
                (
                    compression,
                    layers::list(TarStream::new(inner, limits), budget),
                )
            })
        }
        Sniffed::Nar | Sniffed::Other => None,
    }
}

struct JsonMembers<'a> {
    json: &'a HashMap<Vec<u8>, Vec<u8>>,
}

impl Blobs for JsonMembers<'_> {
    fn json(&mut self, path: &[u8]) -> Result<Vec<u8>, Error> {
        self.json.get(path).cloned().ok_or_else(|| {
            Error::malformed(format!("the archive has no JSON member {}", shown(path)))
        })
    }
}

fn image_plan(
    plan: ImagePlan,
    outer: &Filesystem,
    mut nested: HashMap<u64, Nested>,
    compression: Compression,
) -> Result<TarPlan, Error> {
    let ImagePlan {
        mut image,
        layer_blobs,
        announced,
    } = plan;
    let places: Vec<String> = layer_blobs
        .iter()
        .enumerate()
        .map(|(i, blob)| format!("layer {i} ({})", shown(blob)))
        .collect();
    let ordinals = layer_blobs
        .iter()
        .zip(&places)
        .map(|(blob, place)| {
            outer
                .file_member(blob)
                .ok_or_else(|| Error::malformed("the archive has no such member").at(place))
        })
        .collect::<Result<Vec<u64>, Error>>()?;
    // A blob used as several layers is listed once; its listing is moved out at its last use.
    let mut uses_left: HashMap<u64, usize> = HashMap::new();
    for ordinal in &ordinals {
        *uses_left.entry(*ordinal).or_default() += 1;
    }
    let mut filesystem = Filesystem::default();
    let mut layer_members: HashMap<u64, Vec<u32>> = HashMap::new();
    let mut checks = Vec::new();
    for (i, &ordinal) in ordinals.iter().enumerate() {
        let place = &places[i];
        let found = nested
            .get(&ordinal)
            .ok_or_else(|| Error::malformed("the member is not a tar").at(place))?;
        if let Err(e) = &found.listing {
            return Err(Error::new(e.kind(), e.to_string()).at(place));
        }
        if let Some(announced) = announced[i] {
            if announced != found.compression {
                return Err(Error::malformed(format!(
                    "the media type says {} but the blob is {}",
                    announced.name(),
                    found.compression.name()
                ))
                .at(place));
            }
        }
        let layer = &mut image.layers[i];
        layer.compression = found.compression;
        layer.stored_bytes = found.stored_bytes;
        let left = uses_left.get_mut(&ordinal).expect("counted above");
        *left -= 1;
        let listing = match (*left, &found.listing) {
            (0, _) => nested.remove(&ordinal).expect("found above").listing,
            (_, Ok(listing)) => Ok(listing.clone()),
            (_, Err(_)) => unreachable!("returned above"),
        }
        .expect("checked above");
        layer.tar_bytes = listing.tar_bytes;
        layer.members = listing.check.members;
        checks.push(listing.check);
        layer_members.entry(ordinal).or_default().push(i as u32);
        filesystem
            .apply(i as u32, listing, true)
            .map_err(|e| e.at(place))?;
    }
    filesystem.finish();
    Ok(TarPlan {
        compression,
        filesystem,
        image: Some(image),
        layer_members,
        checks,
    })
}

/// Pass 2: visits the final filesystem. Returns how many members were visited.
pub(crate) fn pass2(
    path: &Path,
    plan: &TarPlan,
    limits: &Limits,
    visit: &mut dyn FnMut(Member<'_>) -> anyhow::Result<()>,
) -> Result<u64, Error> {
    let stream = TarStream::new(open_stream(path, plan.compression, limits)?, limits);
    let Some(image) = &plan.image else {
        return layers::visit_layer(stream, &[0], &plan.checks, &plan.filesystem, false, visit);
    };
    let mut outer = stream;
    let mut visited = 0;
    let mut seen = vec![false; image.layers.len()];
    let mut ordinal = 0u64;
    while let Some(entry) = outer.next_entry()? {
        let this = ordinal;
        ordinal += 1;
        let Some(indices) = plan.layer_members.get(&this) else {
            continue;
        };
        let first = indices[0] as usize;
        let place = format!("layer {first} ({})", image.layers[first].blob);
        let compression = image.layers[first].compression;
        let data = Peeked::new(outer.data()).map_err(|e| Error::from_io(e).at(&place))?;
        if !matches!(sniff(data.head()), Sniffed::Tar | Sniffed::Compressed(_)) || entry.size == 0 {
            return Err(Error::malformed(
                "the archive changed between the pass that listed it and the pass that read it",
            )
            .at(&place));
        }
        let inner =
            decompress(compression, data, limits).map_err(|e| Error::from_io(e).at(&place))?;
        visited += layers::visit_layer(
            TarStream::new(inner, limits),
            indices,
            &plan.checks,
            &plan.filesystem,
            true,
            visit,
        )
        .map_err(|e| e.at(&place))?;
        for &i in indices {
            seen[i as usize] = true;
        }
    }
    if seen.contains(&false) {
        return Err(Error::malformed(
            "the archive changed between the pass that listed it and the pass that read it",
        ));
    }
    Ok(visited)
}
