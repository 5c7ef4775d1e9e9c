//! The bounds on what an archive may make the readers do.

/// Bounds on what an archive may make the readers do. Past one, the read fails with an
/// [`ErrorKind::Limit`](super::ErrorKind::Limit) error naming it.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The most bytes one decompressed stream may produce (a layer and the archive around
    /// it are separate streams). Default 64 GiB.
    pub max_unpacked_bytes: u64,
    /// Past the first 256 MiB, the most bytes a decompressed stream may produce per
    /// compressed byte consumed. Default 1000 (gzip cannot exceed about 1032).
    pub max_expansion_ratio: u64,
    /// The most members in one archive, all layers counted: bounds the memory of the
    /// listing. Default 1 000 000.
    pub max_members: u64,
    /// The longest member path, NAR name or symlink target in bytes. Default 4096.
    pub max_path_bytes: usize,
    /// The deepest nesting of directories. Default 256.
    pub max_depth: usize,
    /// The most bytes of JSON metadata kept from a tar in memory. Default 64 MiB.
    pub max_metadata_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_unpacked_bytes: 64 << 30,
            max_expansion_ratio: 1000,
            max_members: 1_000_000,
            max_path_bytes: 4096,
            max_depth: 256,
            max_metadata_bytes: 64 << 20,
        }
    }
}
