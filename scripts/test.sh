#!/usr/bin/env bash
# Run every test: unit tests and the integration tests that start the real `god` binary against
# the real Docker Engine (start it with scripts/start-docker.sh, build the images with
# scripts/build-test-images.sh; `bash .ci/run` does all of it).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOD_PYCLIENT_VENV=${GOD_PYCLIENT_VENV:-$PWD/target/pyclient}
cargo build --workspace --all-targets
# The fuzz targets are their own crate: they must keep compiling against god-core.
cargo check --manifest-path fuzz/Cargo.toml
cargo test --workspace -- --test-threads=2
