//! Container image metadata: a docker-archive's `manifest.json` and an OCI layout's
//! `index.json`, read down to the image config and the ordered list of layer blobs.
//!
//! docker-archive (`docker save`, nixpkgs `dockerTools`): `manifest.json` is
//! `[{Config, RepoTags, Layers}]` with paths inside the archive. OCI image layout:
//! `index.json` → manifest (possibly through nested indexes) → config and layer
//! descriptors, each blob at `blobs/<algorithm>/<encoded>`; the layer media type says how
//! it is compressed. The config gives `config.Entrypoint`, `config.Cmd` and
//! `rootfs.diff_ids`. An archive of several images is refused (the caller audits one);
//! buildx attestation manifests do not count as images. Digests are checked to be plain
//! names before they become paths, so a descriptor cannot point outside `blobs/`.

use serde::Deserialize;
use std::collections::BTreeMap;

use super::detect::Compression;
use super::error::{shown, Error};
use super::limits::Limits;
use super::member_path::normalise;

/// Which image format an archive holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    DockerArchive,
    OciLayout,
}

/// What the image says about itself, and its layers as read.
#[derive(Clone, Debug)]
pub struct Image {
    pub format: ImageFormat,
    /// `RepoTags` of a docker-archive, or the `org.opencontainers.image.ref.name` /
    /// `io.containerd.image.name` annotations of an OCI layout.
    pub repo_tags: Vec<String>,
    /// `config.Entrypoint` and `config.Cmd` (empty when absent): the image's roots.
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// The config blob: its path in a docker-archive, its digest in an OCI layout.
    pub config: String,
    /// Bottom first: layer `i` applies over layers `0..i`.
    pub layers: Vec<Layer>,
}

/// One layer of an image.
#[derive(Clone, Debug)]
pub struct Layer {
    /// Where its blob is: a path inside the archive or under the layout directory.
    pub blob: String,
    /// The descriptor's digest (OCI), or the one a `blobs/sha256/…` path spells.
    pub digest: Option<String>,
    /// `rootfs.diff_ids[i]` of the config: the digest of the uncompressed tar.
    pub diff_id: Option<String>,
    /// The descriptor's media type (OCI).
    pub media_type: Option<String>,
    /// The compression found by content (and checked against the media type).
    pub compression: Compression,
    /// The blob's size as stored.
    pub stored_bytes: u64,
    /// The size of the uncompressed layer tar.
    pub tar_bytes: u64,
    /// Its members, whiteouts included.
    pub members: u64,
}

/// How the reader finds a JSON blob by its path in the archive or layout.
pub(crate) trait Blobs {
    fn json(&mut self, path: &[u8]) -> Result<Vec<u8>, Error>;
}

/// An image's metadata and where its layers are.
pub(crate) struct ImagePlan {
    pub(crate) image: Image,
    /// The normalised path of each layer's blob, bottom first.
    pub(crate) layer_blobs: Vec<Vec<u8>>,
    /// The compression each layer's media type announces, if there is one.
    pub(crate) announced: Vec<Option<Compression>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

#[derive(Deserialize, Default)]
struct Config {
    #[serde(default)]
    config: Option<RunConfig>,
    #[serde(default)]
    rootfs: Option<RootFs>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct RunConfig {
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: Option<String>,
    digest: String,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct Index {
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Manifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// Nested indexes deeper than this are refused (real ones nest once).
const MAX_INDEX_DEPTH: usize = 4;

/// The docker-archive image described by `manifest` (the bytes of `manifest.json`), or
/// `None` if it is not a docker-archive manifest (a tar that happens to hold a
/// `manifest.json` of another kind is a plain tar).
pub(crate) fn docker(
    manifest: &[u8],
    blobs: &mut dyn Blobs,
    limits: &Limits,
) -> Result<Option<ImagePlan>, Error> {
    let Ok(entries) = serde_json::from_slice::<Vec<DockerEntry>>(manifest) else {
        return Ok(None);
    };
    let entry = match entries.len() {
        1 => &entries[0],
        0 => return Err(Error::malformed("manifest.json lists no image")),
        n => {
            return Err(Error::unsupported(format!(
                "manifest.json lists {n} images; stowaway audits an archive of one image"
            )))
        }
    };
    let config_path =
        normalise(entry.config.as_bytes(), limits).map_err(|e| e.at("manifest.json Config"))?;
    let config = read_config(blobs, &config_path)?;
    let layer_blobs = entry
        .layers
        .iter()
        .map(|layer| normalise(layer.as_bytes(), limits).map_err(|e| e.at("manifest.json Layers")))
        .collect::<Result<Vec<_>, _>>()?;
    let diff_ids = diff_ids(&config, layer_blobs.len())?;
    let layers = layer_blobs
        .iter()
        .zip(diff_ids)
        .map(|(blob, diff_id)| Layer {
            blob: String::from_utf8_lossy(blob).into_owned(),
            digest: digest_of_blob_path(blob),
            diff_id,
            media_type: None,
            compression: Compression::None,
            stored_bytes: 0,
            tar_bytes: 0,
            members: 0,
        })
        .collect();
    let run = config.config.unwrap_or_default();
    Ok(Some(ImagePlan {
        announced: vec![None; layer_blobs.len()],
        layer_blobs,
        image: Image {
            format: ImageFormat::DockerArchive,
            repo_tags: entry.repo_tags.clone().unwrap_or_default(),
            entrypoint: run.entrypoint.unwrap_or_default(),
            cmd: run.cmd.unwrap_or_default(),
            config: entry.config.clone(),
            layers,
        },
    }))
}

/// The OCI image of a layout whose `index.json` is `index`.
pub(crate) fn oci(index: &[u8], blobs: &mut dyn Blobs) -> Result<ImagePlan, Error> {
    let index: Index = serde_json::from_slice(index)
        .map_err(|e| Error::malformed(format!("index.json is not an OCI index: {e}")))?;
    let mut tags = Vec::new();
    let mut manifests = Vec::new();
    let mut pending: Vec<(Descriptor, usize)> =
        index.manifests.into_iter().map(|d| (d, 0)).collect();
    pending.reverse();
    while let Some((descriptor, depth)) = pending.pop() {
        let annotations = descriptor.annotations.clone().unwrap_or_default();
        if annotations
            .get("vnd.docker.reference.type")
            .map(String::as_str)
            == Some("attestation-manifest")
        {
            continue;
        }
        let blob = read_blob(blobs, &descriptor.digest)?;
        let nested = serde_json::from_slice::<Index>(&blob);
        let is_index = descriptor
            .media_type
            .as_deref()
            .is_some_and(|m| m.contains("index") || m.contains("manifest.list"))
            || nested.is_ok();
        if is_index {
            if depth >= MAX_INDEX_DEPTH {
                return Err(Error::limit(format!(
                    "image indexes nested deeper than {MAX_INDEX_DEPTH} at {}",
                    descriptor.digest
                )));
            }
            let nested = nested.map_err(|e| {
                Error::malformed(format!(
                    "index {} is not an OCI index: {e}",
                    descriptor.digest
                ))
            })?;
            let children = nested.manifests.into_iter().rev().map(|d| (d, depth + 1));
            pending.extend(children);
            continue;
        }
        if depth == 0 {
            for key in [
                "org.opencontainers.image.ref.name",
                "io.containerd.image.name",
            ] {
                tags.extend(annotations.get(key).cloned());
            }
        }
        let manifest: Manifest = serde_json::from_slice(&blob).map_err(|e| {
            Error::malformed(format!(
                "manifest {} is not an image manifest: {e}",
                descriptor.digest
            ))
        })?;
        manifests.push(manifest);
    }
    let manifest = match manifests.len() {
        1 => manifests.pop().expect("one"),
        0 => return Err(Error::malformed("index.json leads to no image manifest")),
        n => {
            return Err(Error::unsupported(format!(
                "index.json leads to {n} image manifests; stowaway audits a layout of one image"
            )))
        }
    };
    let config = read_config(blobs, &blob_path(&manifest.config.digest)?)?;
    let diff_ids = diff_ids(&config, manifest.layers.len())?;
    let mut layer_blobs = Vec::new();
    let mut announced = Vec::new();
    let mut layers = Vec::new();
    for (i, (descriptor, diff_id)) in manifest.layers.iter().zip(diff_ids).enumerate() {
        let path = blob_path(&descriptor.digest)?;
        let media_type = descriptor.media_type.clone().unwrap_or_default();
        announced.push(Some(compression_of(&media_type).ok_or_else(|| {
            Error::unsupported(format!(
                "layer {i} ({}) has media type {media_type}, which stowaway does not read",
                descriptor.digest
            ))
        })?));
        layers.push(Layer {
            blob: String::from_utf8_lossy(&path).into_owned(),
            digest: Some(descriptor.digest.clone()),
            diff_id,
            media_type: descriptor.media_type.clone(),
            compression: Compression::None,
            stored_bytes: 0,
            tar_bytes: 0,
            members: 0,
        });
        layer_blobs.push(path);
    }
    let run = config.config.unwrap_or_default();
    Ok(ImagePlan {
        image: Image {
            format: ImageFormat::OciLayout,
            repo_tags: tags,
            entrypoint: run.entrypoint.unwrap_or_default(),
            cmd: run.cmd.unwrap_or_default(),
            config: manifest.config.digest.clone(),
            layers,
        },
        layer_blobs,
        announced,
    })
}

fn read_config(blobs: &mut dyn Blobs, path: &[u8]) -> Result<Config, Error> {
    let bytes = blobs.json(path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::malformed(format!(
            "config {} is not an image config: {e}",
            shown(path)
        ))
    })
}

fn read_blob(blobs: &mut dyn Blobs, digest: &str) -> Result<Vec<u8>, Error> {
    blobs.json(&blob_path(digest)?)
}

fn diff_ids(config: &Config, layers: usize) -> Result<Vec<Option<String>>, Error> {
    let ids = config
        .rootfs
        .as_ref()
        .map(|r| r.diff_ids.clone())
        .unwrap_or_default();
    if ids.len() != layers {
        return Err(Error::malformed(format!(
            "the config lists {} diff_ids for {layers} layers",
            ids.len()
        )));
    }
    Ok(ids.into_iter().map(Some).collect())
}

/// `blobs/<algorithm>/<encoded>` for a digest, after checking it has the grammar of the
/// OCI spec (so it cannot hold `/` or `..`).
pub(crate) fn blob_path(digest: &str) -> Result<Vec<u8>, Error> {
    let bad = || Error::malformed(format!("descriptor digest {digest:?} is not a digest"));
    let (algorithm, encoded) = digest.split_once(':').ok_or_else(bad)?;
    let algorithm_ok = algorithm.split(['+', '.', '_', '-']).all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    let encoded_ok = !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    if !algorithm_ok || !encoded_ok {
        return Err(bad());
    }
    Ok(format!("blobs/{algorithm}/{encoded}").into_bytes())
}

fn digest_of_blob_path(path: &[u8]) -> Option<String> {
    let rest = std::str::from_utf8(path).ok()?.strip_prefix("blobs/")?;
    let (algorithm, encoded) = rest.split_once('/')?;
    Some(format!("{algorithm}:{encoded}"))
}

fn compression_of(media_type: &str) -> Option<Compression> {
    let base = media_type
        .strip_prefix("application/vnd.oci.image.layer.v1.")
        .or_else(|| media_type.strip_prefix("application/vnd.oci.image.layer.nondistributable.v1."))
        .or_else(|| media_type.strip_prefix("application/vnd.docker.image.rootfs.diff."))
        .or_else(|| media_type.strip_prefix("application/vnd.docker.image.rootfs.foreign.diff."))?;
    match base {
        "tar" => Some(Compression::None),
        "tar+gzip" | "tar.gzip" => Some(Compression::Gzip),
        "tar+zstd" => Some(Compression::Zstd),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_become_paths_only_when_plain() {
        assert_eq!(blob_path("sha256:abc0").unwrap(), b"blobs/sha256/abc0");
        for bad in [
            "sha256:../../etc/passwd",
            "sha256:",
            ":abc",
            "sha256/x:abc",
            "../x:abc",
            "sha256:a/b",
            "noColon",
        ] {
            assert!(blob_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn media_types_say_the_compression() {
        assert_eq!(
            compression_of("application/vnd.oci.image.layer.v1.tar+gzip"),
            Some(Compression::Gzip)
        );
        assert_eq!(
            compression_of("application/vnd.oci.image.layer.v1.tar+zstd"),
            Some(Compression::Zstd)
        );
        assert_eq!(
            compression_of("application/vnd.oci.image.layer.v1.tar"),
            Some(Compression::None)
        );
        assert_eq!(
            compression_of("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            Some(Compression::Gzip)
        );
        assert_eq!(
            compression_of("application/vnd.oci.image.layer.v1.tar+gzip+encrypted"),
            None
        );
    }
}
