//! Container images made by real tools: an OCI layout built by umoci in two layers (the
//! second deletes a file and a whole store path: whiteouts) with a hard link, converted
//! by skopeo to a docker-archive (plain and gzipped), to zstd layers, and packed as a tar.
//! Each must visit as the final root filesystem umoci leaves on disk, with the metadata
//! umoci and skopeo wrote, and give each store path's narSize from the listing alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use stowaway::archive::{nar_node_bytes, Compression, Format, ImageFormat};

use super::common::*;

struct Images {
    _dir: tempfile::TempDir,
    oci: PathBuf,
    oci_zstd: PathBuf,
    oci_tar: PathBuf,
    docker: PathBuf,
    docker_gz: PathBuf,
    /// The final root filesystem, as umoci unpacked it for the second layer.
    rootfs: PathBuf,
    app: String,
    links: String,
}

fn umoci(args: &[&str], dir: &Path) {
    run(Command::new("umoci").args(args).current_dir(dir));
}

fn images() -> &'static Images {
    static IMAGES: OnceLock<Images> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path();
        let app = store_paths()["app-static"].clone();
        let links = store_paths()["links"].clone();
        umoci(&["init", "--layout", "img"], at);
        umoci(&["new", "--image", "img:t"], at);
        umoci(&["unpack", "--image", "img:t", "first"], at);
        let rootfs = at.join("first/rootfs");
        std::fs::create_dir_all(rootfs.join("nix/store")).unwrap();
        std::fs::create_dir_all(rootfs.join("etc")).unwrap();
        run(Command::new("cp")
            .arg("-a")
            .args([&app, &links])
            .arg(rootfs.join("nix/store")));
        std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0::/:/bin/sh\n").unwrap();
        std::fs::write(rootfs.join("etc/motd"), "hello\n").unwrap();
        std::fs::hard_link(rootfs.join("etc/motd"), rootfs.join("etc/motd.hard")).unwrap();
        umoci(&["repack", "--image", "img:t", "first"], at);
        umoci(&["unpack", "--image", "img:t", "second"], at);
        let rootfs = at.join("second/rootfs");
        std::fs::remove_file(rootfs.join("etc/passwd")).unwrap();
        std::fs::write(rootfs.join("etc/motd2"), "added on top\n").unwrap();
        let links_in_image = rootfs.join(format!(
            "nix/store/{}",
            Path::new(&links).file_name().unwrap().to_str().unwrap()
        ));
        run(Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(&links_in_image));
        std::fs::remove_dir_all(links_in_image).unwrap();
        umoci(&["repack", "--image", "img:t", "second"], at);
        let entrypoint = format!("{app}/bin/app");
        umoci(
            &[
                "config",
                "--image",
                "img:t",
                "--config.entrypoint",
                &entrypoint,
                "--config.cmd",
                "--verbose",
            ],
            at,
        );
        let skopeo = |args: &[&str]| {
            run(Command::new("skopeo")
                .args(["--insecure-policy", "copy", "--quiet"])
                .args(args)
                .current_dir(at))
        };
        skopeo(&["oci:img:t", "docker-archive:image.tar:example/app:1"]);
        skopeo(&[
            "--dest-compress-format",
            "zstd",
            "oci:img:t",
            "oci:img-zstd:t",
        ]);
        run(Command::new("gzip")
            .args(["-k", "image.tar"])
            .current_dir(at));
        run(Command::new("tar")
            .args(["-C", "img", "-cf", "oci.tar", "."])
            .current_dir(at));
        Images {
            oci: at.join("img"),
            oci_zstd: at.join("img-zstd"),
            oci_tar: at.join("oci.tar"),
            docker: at.join("image.tar"),
            docker_gz: at.join("image.tar.gz"),
            rootfs,
            app,
            links,
            _dir: dir,
        }
    })
}

fn name_of(store_path: &str) -> String {
    Path::new(store_path)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn every_form_of_the_image_visits_as_its_final_root_filesystem() {
    let images = images();
    let expected = walk(&images.rootfs, false);
    assert!(expected.contains_key(&b"etc/motd2"[..]) && !expected.contains_key(&b"etc/passwd"[..]));
    let forms = [
        (
            &images.oci,
            Format::OciLayout { tar: None },
            Compression::Gzip,
        ),
        (
            &images.oci_zstd,
            Format::OciLayout { tar: None },
            Compression::Zstd,
        ),
        (
            &images.oci_tar,
            Format::OciLayout {
                tar: Some(Compression::None),
            },
            Compression::Gzip,
        ),
        (
            &images.docker,
            Format::DockerArchive(Compression::None),
            Compression::None,
        ),
        (
            &images.docker_gz,
            Format::DockerArchive(Compression::Gzip),
            Compression::None,
        ),
    ];
    for (path, format, layer_compression) in forms {
        let what = path.display().to_string();
        let archive = open(path);
        assert_eq!(archive.format(), format, "{what}");
        let visited = visit(&archive);
        assert_eq!(
            texts(visited.nodes.keys()),
            texts(expected.keys()),
            "{what}"
        );
        assert_eq!(visited.nodes, expected, "{what}");
        // The hard link umoci wrote stays a link to the file it shares bytes with.
        assert_eq!(visited.hard_links.len(), 1, "{what}");
        let (link, target) = visited.hard_links.iter().next().unwrap();
        let mut pair = [link.as_slice(), target.as_slice()];
        pair.sort();
        assert_eq!(pair, [&b"etc/motd"[..], b"etc/motd.hard"], "{what}");
        // Layer attribution: the application from the bottom layer, motd2 from the top.
        let app_binary = format!("nix/store/{}/bin/app", name_of(&images.app)).into_bytes();
        assert_eq!(visited.layers[&app_binary], Some(0), "{what}");
        assert_eq!(visited.layers[&b"etc/motd2"[..]], Some(1), "{what}");
        let image = archive.image().unwrap();
        assert_eq!(image.layers.len(), 2, "{what}");
        assert!(
            image
                .layers
                .iter()
                .all(|l| l.compression == layer_compression),
            "{what}"
        );
        assert_eq!(
            image.entrypoint,
            [format!("{}/bin/app", images.app)],
            "{what}"
        );
        assert_eq!(image.cmd, ["--verbose"], "{what}");
        // The listing names exactly what is visited, hard link included.
        let listed: Vec<Vec<u8>> = archive
            .listing()
            .unwrap()
            .map(|l| l.path.to_vec())
            .collect();
        assert_eq!(texts(&listed), texts(expected.keys()), "{what}");
    }
}

#[test]
fn image_metadata_is_what_the_tools_wrote() {
    let images = images();
    let oci = open(&images.oci);
    let image = oci.image().unwrap();
    assert_eq!(image.format, ImageFormat::OciLayout);
    assert_eq!(image.repo_tags, ["t"]);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(images.oci.join("index.json")).unwrap()).unwrap();
    let manifest_digest = index["manifests"][0]["digest"].as_str().unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            images
                .oci
                .join("blobs/sha256")
                .join(manifest_digest.strip_prefix("sha256:").unwrap()),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(image.config, manifest["config"]["digest"].as_str().unwrap());
    let config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            images
                .oci
                .join("blobs/sha256")
                .join(image.config.strip_prefix("sha256:").unwrap()),
        )
        .unwrap(),
    )
    .unwrap();
    for (i, layer) in image.layers.iter().enumerate() {
        assert_eq!(
            layer.digest.as_deref(),
            manifest["layers"][i]["digest"].as_str()
        );
        assert_eq!(
            layer.media_type.as_deref(),
            manifest["layers"][i]["mediaType"].as_str()
        );
        assert_eq!(
            layer.diff_id.as_deref(),
            config["rootfs"]["diff_ids"][i].as_str()
        );
        assert_eq!(
            layer.stored_bytes,
            manifest["layers"][i]["size"].as_u64().unwrap()
        );
        assert!(
            layer.tar_bytes > layer.stored_bytes,
            "a gzipped layer unpacks to more"
        );
    }

    let docker = open(&images.docker);
    let image = docker.image().unwrap();
    assert_eq!(image.format, ImageFormat::DockerArchive);
    assert_eq!(image.repo_tags, ["docker.io/example/app:1"]);
    let oci_layers = &oci.image().unwrap().layers;
    for (docker_layer, oci_layer) in image.layers.iter().zip(oci_layers) {
        // skopeo stores the uncompressed tars, named by their diff_id.
        assert_eq!(docker_layer.diff_id, oci_layer.diff_id);
        assert_eq!(docker_layer.tar_bytes, oci_layer.tar_bytes);
        assert_eq!(docker_layer.stored_bytes, docker_layer.tar_bytes);
        assert_eq!(docker_layer.members, oci_layer.members);
    }
}

#[test]
fn store_path_nar_sizes_come_from_the_listing_alone() {
    let images = images();
    let name = name_of(&images.app);
    let prefix = format!("nix/store/{name}").into_bytes();
    for path in [&images.oci, &images.docker_gz] {
        let archive = open(path);
        let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
        for listed in archive.listing().unwrap() {
            let Some(rest) = listed.path.strip_prefix(&b"nix/store/"[..]) else {
                continue;
            };
            let mut parts = rest.splitn(2, |&b| b == b'/');
            let store_name = String::from_utf8(parts.next().unwrap().to_vec()).unwrap();
            let own_name = parts
                .next()
                .map(|inside| inside.rsplit(|&b| b == b'/').next().unwrap());
            *sizes.entry(store_name).or_default() += nar_node_bytes(own_name, listed.kind);
        }
        assert!(
            sizes.contains_key(&name) && !sizes.contains_key(&name_of(&images.links)),
            "{sizes:?}"
        );
        assert_eq!(sizes[&name], nar_size(&images.app), "{}", path.display());
        assert!(archive
            .listing()
            .unwrap()
            .any(|l| l.path == prefix.as_slice()));
    }
}
