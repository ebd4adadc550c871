//! Compiles `csrc/verify.cpp` against the Bitcoin Core sources the `bitcoinconsensus` crate
//! ships and compiles into libbitcoinconsensus: the shim calls that library's interpreter
//! (`VerifyScript`) directly, for Core's `ScriptError` of a failing input. The headers must be
//! the very ones the library was built from, so they are read from that crate's own copy in
//! cargo's registry (the crate exports no include path).

use std::path::PathBuf;

/// The `bitcoinconsensus` version whose sources the shim compiles against (= Cargo.toml's pin).
const CONSENSUS_CRATE: &str = "bitcoinconsensus-0.106.0+26.0";

fn cargo_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        return PathBuf::from(home);
    }
    let home = std::env::var_os("HOME").expect("neither CARGO_HOME nor HOME is set");
    PathBuf::from(home).join(".cargo")
}

/// `depend/bitcoin/src` of the registry's copy of [`CONSENSUS_CRATE`].
fn core_sources() -> PathBuf {
    let registry = cargo_home().join("registry").join("src");
    let found = std::fs::read_dir(&registry).ok().and_then(|index| {
        index
            .filter_map(Result::ok)
            .map(|entry| entry.path().join(CONSENSUS_CRATE).join("depend/bitcoin/src"))
            .find(|src| src.join("script/interpreter.h").is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "{CONSENSUS_CRATE}'s Bitcoin Core sources are not under {} (fetch the crates: cargo fetch)",
            registry.display()
        )
    })
}

fn main() {
    let src = core_sources();
    println!("cargo:rerun-if-changed=csrc/verify.cpp");
    println!("cargo:rerun-if-changed=build.rs");
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .include(&src)
        .include(src.join("secp256k1/include"))
        .define("__STDC_FORMAT_MACROS", None)
        .file("csrc/verify.cpp");
    let compiler = build.get_compiler();
    if compiler.is_like_msvc() {
        build.flag("/std:c++17");
    } else {
        build.flag("-std=c++17").flag("-Wno-unused-parameter");
    }
    build.compile("nvm_script_verify");
}
