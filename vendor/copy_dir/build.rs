//! pgbackup's one change to copy_dir 0.1.3: this check. copy_dir is a build dependency of
//! isal-sys only, so it is built only with pgbackup's `isal` feature, and before isal-sys's
//! build script, which builds ISA-L from source with nasm (or yasm) and the autotools and,
//! when they are missing, fails in sixty lines of configure output. This says it in one line,
//! naming the script that installs them. It runs once; a failed run is retried next build.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let missing = missing_tools();
    if !missing.is_empty() {
        println!(
            "cargo::error=pgbackup's isal feature needs {} to build ISA-L: \
             run scripts/build-deps.sh, or build without --features isal",
            missing.join(", ")
        );
    }
}

fn missing_tools() -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !on_path("nasm") && !on_path("yasm") {
        missing.push("nasm");
    }
    for tool in ["make", "autoreconf", "automake", "libtoolize"] {
        if !on_path(tool) {
            missing.push(tool);
        }
    }
    missing
}

fn on_path(tool: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| is_executable(&dir.join(tool)))
}

fn is_executable(file: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
