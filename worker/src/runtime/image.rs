//! Which image a job runs, and an uploaded image without the names it declares.
//!
//! A job names either an image its lease uploaded, by ID (`sha256:` + 64 hex digits: the digest
//! of the image's config, which the renter computes locally before committing to the spec), or a
//! name on the provider's allow-list (`worker.docker.allowed_images`). Uploaded tarballs are
//! loaded without their repository tags, so a renter's image can never take a name another job
//! (or the provider's own services) would run. Either way the container is created from the
//! image ID resolved at submission, never from a name that could move in between.

use std::io::{Cursor, Read};

/// `sha256:<64 hex>`: an image ID, or `None`.
pub fn as_image_id(image: &str) -> Option<String> {
    let hex = image.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("sha256:{}", hex.to_ascii_lowercase()))
}

/// A reference as the daemon resolves it: registry, then repository (official images under
/// `library/`), then the tag or digest (`latest` when none). `Err` names the reason.
pub fn normalise(image: &str) -> Result<String, String> {
    if image.is_empty() || image.len() > 255 {
        return Err("empty or longer than 255 characters".into());
    }
    if !image
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/:@".contains(&b))
    {
        return Err("only lowercase letters, digits and . _ - / : @ are allowed".into());
    }
    let (name, suffix) = match image.split_once('@') {
        Some((n, d)) => (n, format!("@{d}")),
        None => match image.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, format!(":{t}")),
            _ => (image, ":latest".to_string()),
        },
    };
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err("an empty path component".into());
    }
    let first = parts[0];
    let registry = if parts.len() > 1
        && (first.contains('.') || first.contains(':') || first == "localhost")
    {
        parts.remove(0)
    } else {
        "docker.io"
    };
    if registry == "docker.io" && parts.len() == 1 {
        parts.insert(0, "library");
    }
    Ok(format!("{registry}/{}{suffix}", parts.join("/")))
}

/// Whether `image` (normalised) is on the allow-list: an entry ending in `/` is a prefix,
/// anything else one name (with or without its tag).
pub fn allowed(image: &str, allow: &[String]) -> Result<String, String> {
    let n = normalise(image)?;
    let ok = allow.iter().any(|a| {
        if a.ends_with('/') {
            n.starts_with(a.as_str())
        } else {
            normalise(a).is_ok_and(|a| {
                a == n || n.starts_with(&format!("{}:", a.trim_end_matches(":latest")))
            })
        }
    });
    if ok {
        Ok(n)
    } else {
        Err(format!(
            "{n} is not among the images this provider allows (worker.docker.allowed_images: \
             {allow:?}); upload the image for this lease and name it by its ID (sha256:…)"
        ))
    }
}

/// A `docker save` tarball with every repository name removed: `RepoTags` emptied in
/// `manifest.json`, the legacy `repositories` file dropped, and the name annotations of an OCI
/// `index.json` removed. Everything else is copied byte for byte.
pub fn strip_names(tarball: &[u8]) -> Result<Vec<u8>, String> {
    let mut input = tar::Archive::new(Cursor::new(tarball));
    let mut out = tar::Builder::new(Vec::with_capacity(tarball.len()));
    let entries = input
        .entries()
        .map_err(|e| format!("not a tar archive: {e}"))?;
    for entry in entries {
        let mut e = entry.map_err(|e| format!("tar entry: {e}"))?;
        let path = e
            .path()
            .map_err(|e| format!("tar entry path: {e}"))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        if path == "repositories" {
            continue;
        }
        let mut header = e.header().clone();
        if path == "manifest.json" || path == "index.json" {
            let mut body = Vec::new();
            e.read_to_end(&mut body)
                .map_err(|e| format!("{path}: {e}"))?;
            let mut v: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| format!("{path}: not JSON ({e})"))?;
            strip_json(&mut v);
            let body = serde_json::to_vec(&v).map_err(|e| format!("{path}: {e}"))?;
            header.set_size(body.len() as u64);
            header.set_cksum();
            out.append(&header, body.as_slice())
                .map_err(|e| format!("{path}: {e}"))?;
        } else {
            out.append(&header, &mut e)
                .map_err(|e| format!("{path}: {e}"))?;
        }
    }
    out.into_inner().map_err(|e| format!("tar: {e}"))
}

/// Removes names wherever a save format keeps them.
fn strip_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            if m.contains_key("RepoTags") {
                m.insert("RepoTags".into(), serde_json::Value::Null);
            }
            if let Some(serde_json::Value::Object(a)) = m.get_mut("annotations") {
                a.remove("io.containerd.image.name");
                a.remove("org.opencontainers.image.ref.name");
            }
            for x in m.values_mut() {
                strip_json(x);
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalise_like_the_daemon() {
        for (i, n) in [
            ("python", "docker.io/library/python:latest"),
            ("python:3.12", "docker.io/library/python:3.12"),
            ("acme/app:1", "docker.io/acme/app:1"),
            ("ghcr.io/acme/app", "ghcr.io/acme/app:latest"),
            ("localhost:5000/x:2", "localhost:5000/x:2"),
            ("alpine@sha256:ab", "docker.io/library/alpine@sha256:ab"),
        ] {
            assert_eq!(normalise(i).unwrap(), n, "{i}");
        }
        for bad in ["", "UPPER", "a//b", "a b", "x;rm"] {
            assert!(normalise(bad).is_err(), "{bad}");
        }
        let allow = vec!["docker.io/library/".to_string(), "dgcm/busybox:test".into()];
        assert!(allowed("python:3.12", &allow).is_ok());
        assert!(allowed("dgcm/busybox:test", &allow).is_ok());
        assert!(allowed("dgcm/busybox:other", &allow).is_err());
        assert!(allowed("evil.example.com/library/python", &allow).is_err());
        assert!(allowed("acme/app", &allow).is_err());
        assert_eq!(
            as_image_id(&format!("sha256:{}", "A".repeat(64))),
            Some(format!("sha256:{}", "a".repeat(64)))
        );
        assert_eq!(as_image_id("sha256:abc"), None);
    }

    #[test]
    fn names_are_stripped_from_a_saved_image() {
        let mut b = tar::Builder::new(Vec::new());
        let files: [(&str, &[u8]); 3] = [
            (
                "manifest.json",
                br#"[{"Config":"c.json","RepoTags":["dgcm/busybox:test"],"Layers":["l/layer.tar"]}]"#,
            ),
            ("repositories", br#"{"dgcm/busybox":{"test":"abc"}}"#),
            ("c.json", b"{}"),
        ];
        for (name, body) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, body).unwrap();
        }
        let out = strip_names(&b.into_inner().unwrap()).unwrap();
        let mut a = tar::Archive::new(Cursor::new(out));
        let mut names = vec![];
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let p = e.path().unwrap().to_string_lossy().to_string();
            if p == "manifest.json" {
                let mut s = String::new();
                e.read_to_string(&mut s).unwrap();
                assert!(
                    s.contains("\"RepoTags\":null") && !s.contains("busybox"),
                    "{s}"
                );
            }
            names.push(p);
        }
        assert_eq!(names, ["manifest.json", "c.json"]);
        assert!(strip_names(b"not a tarball at all, just bytes").is_err());
    }
}
