//! The layering rules of docs/ARCHITECTURE.md, checked on the workspace's manifests (`cargo
//! metadata`) and the crates' `pub use` re-exports:
//! - only VM crates (`nvm-vm-*`), ecosystem RPC crates (`nvm-rpc-*`), the list of VMs
//!   (`nvm-vms`) and the `nvm` binary (`nvm-cli`) may depend on a concrete VM crate — every
//!   other crate sees VMs through `nvm-vm-api`;
//! - no RPC crate and not consensus may depend on the storage engine (`nvm-storage`).
//!
//! A dependency counts directly or through a crate that re-exports the other's items. A known
//! violation, while a refactor is under way, is listed below (none today); a new violation fails
//! the test, and so does a listed one that is gone (so the list stays true).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    process::Command,
};

/// Each is `dependent -> dependency`, with `via X` when it goes through X's re-exports.
const KNOWN_VIOLATIONS: &[&str] = &[];

fn is_concrete_vm(name: &str) -> bool {
    name.starts_with("nvm-vm-") && name != "nvm-vm-api"
}

fn may_use_concrete_vms(name: &str) -> bool {
    name.starts_with("nvm-vm-")
        || name.starts_with("nvm-rpc-")
        || name == "nvm-vms"
        || name == "nvm-cli"
}

fn is_rpc_or_consensus(name: &str) -> bool {
    name == "nvm-rpc" || name.starts_with("nvm-rpc-") || name == "nvm-consensus"
}

/// Every workspace crate's normal (not dev or build) dependencies on other workspace crates, and
/// the workspace crates whose items its sources re-export (`pub use nvm_x…`).
struct Workspace {
    deps: BTreeMap<String, BTreeSet<String>>,
    reexports: BTreeMap<String, BTreeSet<String>>,
}

fn workspace() -> Workspace {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let names: BTreeSet<String> =
        packages.iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
    let mut deps = BTreeMap::new();
    let mut reexports = BTreeMap::new();
    for package in packages {
        let name = package["name"].as_str().unwrap().to_string();
        let normal: BTreeSet<String> = package["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().unwrap().to_string())
            .filter(|d| names.contains(d))
            .collect();
        let manifest = Path::new(package["manifest_path"].as_str().unwrap());
        let sources = manifest.parent().unwrap().join("src");
        let reexported = reexported_crates(&sources)
            .into_iter()
            .filter(|crate_name| normal.contains(crate_name))
            .collect();
        reexports.insert(name.clone(), reexported);
        deps.insert(name, normal);
    }
    Workspace { deps, reexports }
}

/// The crates (as package names) whose items `pub use nvm_…` lines under `dir` re-export.
fn reexported_crates(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            found.extend(reexported_crates(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines().map(str::trim_start) {
                if let Some(rest) = line.strip_prefix("pub use nvm_") {
                    let module: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    found.insert(format!("nvm-{}", module.replace('_', "-")));
                }
            }
        }
    }
    found
}

impl Workspace {
    /// What `name` reaches, each with the crate whose re-exports it goes through (if any).
    fn reaches(&self, name: &str) -> BTreeSet<(String, Option<String>)> {
        let mut out = BTreeSet::new();
        for dep in &self.deps[name] {
            out.insert((dep.clone(), None));
            let mut stack = vec![dep.clone()];
            let mut seen = BTreeSet::new();
            while let Some(reexporter) = stack.pop() {
                for item in self.reexports.get(&reexporter).into_iter().flatten() {
                    if seen.insert(item.clone()) {
                        out.insert((item.clone(), Some(dep.clone())));
                        stack.push(item.clone());
                    }
                }
            }
        }
        // A crate named directly needs no `via`.
        let direct: BTreeSet<String> = self.deps[name].clone();
        out.retain(|(dep, via)| via.is_none() || !direct.contains(dep));
        out
    }

    fn violations(&self) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for name in self.deps.keys() {
            for (dep, via) in self.reaches(name) {
                let forbidden = (is_concrete_vm(&dep) && !may_use_concrete_vms(name))
                    || (dep == "nvm-storage" && is_rpc_or_consensus(name));
                if forbidden {
                    let via = via.map(|v| format!(" via {v}")).unwrap_or_default();
                    found.insert(format!("{name} -> {dep}{via}"));
                }
            }
        }
        found
    }
}

#[test]
fn only_the_composition_root_names_concrete_vms_and_rpc_stays_off_storage() {
    let found = workspace().violations();
    let known: BTreeSet<String> = KNOWN_VIOLATIONS.iter().map(|v| v.to_string()).collect();
    let new: Vec<_> = found.difference(&known).collect();
    assert!(new.is_empty(), "dependencies the layering forbids: {new:?}");
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(gone.is_empty(), "fixed — take them off KNOWN_VIOLATIONS: {gone:?}");
}
