//! Tidy checks: plain tests that keep the workspace's shape honest.

#[cfg(test)]
mod tests {
    use std::fs;

    use crate::workspace_root;

    /// Every crate inherits the one lint policy of `[workspace.lints]`.
    #[test]
    fn every_crate_inherits_workspace_lints() {
        for manifest in crate_manifests() {
            let text = fs::read_to_string(&manifest).expect("manifest is readable");
            assert!(
                text.contains("[lints]\nworkspace = true"),
                "{} must say `[lints] workspace = true`",
                manifest.display()
            );
        }
    }

    /// Library crates other than wstack-frame forbid `unsafe` outright; wstack-frame denies it
    /// crate-wide and lifts it only on its masking module.
    #[test]
    fn unsafe_code_is_forbidden_outside_frame() {
        for manifest in crate_manifests() {
            let dir = manifest.parent().expect("manifest has a parent");
            let lib = dir.join("src/lib.rs");
            let Ok(text) = fs::read_to_string(&lib) else {
                continue;
            };
            let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name == "wstack-frame" {
                assert!(text.contains("#![deny(unsafe_code)]"), "{}", lib.display());
            } else {
                assert!(
                    text.contains("#![forbid(unsafe_code)]"),
                    "{}",
                    lib.display()
                );
            }
        }
    }

    /// Dependencies point one way: the sans-IO crates never pull a runtime or TLS.
    #[test]
    fn sans_io_crates_pull_no_runtime() {
        const RUNTIME: &[&str] = &[
            "tokio",
            "async-std",
            "smol",
            "async-io",
            "async-net",
            "rustls",
            "futures",
        ];
        for name in [
            "wstack-frame",
            "wstack-handshake",
            "wstack-deflate",
            "wstack-proto",
        ] {
            let manifest = workspace_root()
                .join("crates")
                .join(name)
                .join("Cargo.toml");
            let Ok(text) = fs::read_to_string(&manifest) else {
                continue;
            };
            let deps = normal_dependencies(&text);
            for dep in deps {
                assert!(
                    !RUNTIME.iter().any(|r| dep.starts_with(r)),
                    "{name} depends on {dep}: sans-IO crates must not pull a runtime or TLS"
                );
            }
        }
    }

    fn crate_manifests() -> Vec<std::path::PathBuf> {
        let root = workspace_root();
        let mut out = vec![
            root.join("conformance/Cargo.toml"),
            root.join("benches/Cargo.toml"),
            root.join("xtask/Cargo.toml"),
        ];
        for entry in fs::read_dir(root.join("crates")).expect("crates/ exists") {
            let path = entry.expect("readable dir entry").path().join("Cargo.toml");
            if path.exists() {
                out.push(path);
            }
        }
        out
    }

    /// Names in the `[dependencies]` table (not dev- or build-dependencies).
    fn normal_dependencies(manifest: &str) -> Vec<String> {
        let mut in_deps = false;
        let mut out = Vec::new();
        for line in manifest.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_deps = line == "[dependencies]";
                continue;
            }
            if in_deps && let Some((name, _)) = line.split_once('=') {
                let name = name.trim();
                if !name.is_empty() && !name.starts_with('#') {
                    out.push(name.to_owned());
                }
            }
        }
        out
    }
}
