#!/usr/bin/env bash
# Go-Docker on a Docker Swarm against a user driving the same Swarm by hand (`docker service
# create` of a one-task replicated job + wait + remove): per-job overhead, interleaved, and the
# throughput of N jobs over the workers (one slot each) against one raw worker per node.
# Runs on the test Swarm of scripts/start-swarm.sh (host Engine as drained manager, three worker
# Engines in network namespaces, godocker.cpus=1 each), with a release build of `god`.
#   usage: bash scripts/bench-swarm.sh [JOBS] [BURST]      (defaults 20 and 40)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${1:-20}
BURST=${2:-40}
bash scripts/start-docker.sh
bash scripts/start-swarm.sh 3 >/dev/null
cargo build --release -p god
echo "bench-swarm: $(nproc) cpus, Engine $(docker version --format '{{.Server.Version}}'), $(date -u +%FT%TZ)"
target/release/god bench swarm --jobs "$JOBS" --burst "$BURST"
