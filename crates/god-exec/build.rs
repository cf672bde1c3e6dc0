//! Compiles the in-container init helper (`helper/god-init.c`) into a static binary that
//! `src/helper.rs` embeds with `include_bytes!`.

use std::path::PathBuf;
use std::process::{exit, Command};

const SOURCE: &str = "helper/god-init.c";

fn main() {
    println!("cargo:rerun-if-changed={SOURCE}");
    println!("cargo:rerun-if-changed=build.rs");
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        eprintln!("OUT_DIR is not set (this script runs under cargo)");
        exit(1);
    };
    let output = PathBuf::from(out_dir).join("god-init");
    // musl when available: a static musl binary starts several times faster than a static
    // glibc one (no CPU feature probing), which the native executor pays per job.
    let musl = Command::new("musl-gcc")
        .args(["-static", "-O2", "-Wall", "-o"])
        .arg(&output)
        .arg(SOURCE)
        .status();
    if matches!(musl, Ok(s) if s.success()) {
        return;
    }
    println!("cargo:warning=musl-gcc not found or failed: building god-init with glibc (slower to start; install musl-tools)");
    let status = Command::new("cc")
        .args(["-static", "-O2", "-Wall", "-o"])
        .arg(&output)
        .arg(SOURCE)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => {
            eprintln!("cc -static failed ({s}) on {SOURCE}: a C compiler and a static libc (glibc: libc6-dev) are needed");
            exit(1);
        }
        Err(e) => {
            eprintln!("cannot run cc to build {SOURCE}: {e} (install gcc and libc6-dev)");
            exit(1);
        }
    }
}
