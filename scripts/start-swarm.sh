#!/usr/bin/env bash
# A real multi-node Docker Swarm on this one machine, for the swarm executor tests
# (platform-recipes §2b, extended to N workers).
#
#   manager : the host Docker Engine (/var/run/docker.sock), drained so that jobs land only on
#             workers (the host Engine is also used directly as a plain `docker` executor).
#   workers : gdn1..gdnN, one extra dockerd each, in its own network namespace gdnK and its own
#             UTS namespace (hostname gdnK, so `docker node ls` shows distinct hostnames).
#             State in $GOD_SWARM_DIR/gdnK/{root,exec,run}, log in $GOD_SWARM_DIR/gdnK/dockerd.log,
#             API socket $GOD_SWARM_DIR/gdnK/run/d.sock.
#   network : one veth pair per worker: host side gdvK0 = 10.231.K.1/24, namespace side
#             gdvK1 = 10.231.K.2/24. The manager listens on 0.0.0.0:2377 and advertises
#             10.231.1.1 (gdv10). A worker joins through the host side of its own link
#             (10.231.K.1:2377); after joining (and after every restart) it talks to the
#             advertised 10.231.1.1, a local address of the host. Each namespace routes
#             10.231.0.0/16 through the host side of its link, and the host forwards between gdv
#             links (one ACCEPT rule in iptables' DOCKER-USER chain), so that the workers' gossip
#             (port 7946) works too; without that, their dockerds log errors several times a
#             second.
#   labels  : god.node=nK and godocker.cpus=1 on every worker (a test capacity override: every
#             node on one machine otherwise reports all the machine's CPUs).
#
# usage: bash scripts/start-swarm.sh [N]       (N workers, default 3)
#
# Idempotent: what already works is left alone; a worker whose dockerd died (see
# `scripts/stop-swarm.sh --kill gdnK`) is restarted on the same data root and rejoins as the same
# node. Waits (60 s at most) until every worker is Ready. Prints one line per worker,
# `gdnK <node id> <socket path> <address>`, and writes the same lines to $GOD_SWARM_DIR/nodes.
# Tear down with scripts/stop-swarm.sh.
#
# Measured here (Docker 20.10.24, 2 CPUs): cold start of 3 workers (image loads included)
# 9-11 s; a second run with nothing to do 0.7-1 s; bringing back a killed worker ~1 s.
set -euo pipefail

N=${1:-3}
DIR=${GOD_SWARM_DIR:-/var/lib/god-swarm}
IMAGES=(god-test/minimal:latest god-test/debian:bookworm)
MANAGER_ADDR=10.231.1.1          # host side of gdn1's link: the manager's advertise address
READY_TIMEOUT=60                 # seconds to wait for every worker to be Ready

# Always talk to the host Engine with plain `docker`, whatever the caller's environment says.
export DOCKER_HOST=unix:///var/run/docker.sock
unset DOCKER_CONTEXT

START_NS=$(date +%s%N)
log() { echo "start-swarm: $*" >&2; }
die() { echo "start-swarm: ERROR: $*" >&2; exit 1; }

case $N in
    '' | *[!0-9]*) die "usage: $0 [N]  (N = number of workers, 1..200)" ;;
esac
{ [ "$N" -ge 1 ] && [ "$N" -le 200 ]; } || die "N must be 1..200 (got $N)"
[ "$(id -u)" = 0 ] || die "must run as root (network namespaces, veths, dockerd)"
docker info >/dev/null 2>&1 || die "the host Docker Engine does not answer; run scripts/start-docker.sh"

mkdir -p "$DIR"
# Two concurrent runs would race on joins and dockerd starts: serialise them.
exec 9>"$DIR/.lock"
flock -w 300 9 || die "another start-swarm.sh has held $DIR/.lock for 300 s"

# Remember whether docker0 exists: a dockerd with --bridge none started in the HOST network
# namespace would delete it. The launch below makes that impossible; this checks it anyway.
HAD_DOCKER0=no
ip link show docker0 >/dev/null 2>&1 && HAD_DOCKER0=yes

ns() { echo "gdn$1"; }
sock() { echo "$DIR/gdn$1/run/d.sock"; }
addr() { echo "10.231.$1.2"; }
# docker against worker K's dockerd; bounded, so that a wedged daemon cannot hang the script.
wdocker() {
    local k=$1
    shift
    timeout 30 docker -H "unix://$(sock "$k")" "$@"
}
# True if PID is a live dockerd. A killed daemon can linger as a zombie (its parent is the
# machine's init, which reaps when it pleases): /proc/PID/comm still says dockerd, state says Z.
dockerd_alive() {
    local stat
    [ -n "$1" ] || return 1
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    [[ $stat == *"(dockerd) "[!ZX]* ]]
}
worker_up() { wdocker "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# --- 1. network: namespace, veth pair, addresses, route to the manager ----------------------
ensure_net() {
    local k=$1 n h=gdv${1}0 p=gdv${1}1
    n=$(ns "$k")
    if [ ! -e "/var/run/netns/$n" ]; then
        log "$n: creating network namespace"
        ip netns add "$n"
    fi
    # A veth pair lives and dies as a pair (deleting the namespace deletes both ends), so a
    # missing host end means a missing pair.
    if ! ip link show "$h" >/dev/null 2>&1; then
        log "$n: creating veth $h <-> $n:$p"
        ip link add "$h" type veth peer name "$p" netns "$n"
    fi
    # `replace` makes all of these no-ops when already in place.
    ip addr replace "10.231.$k.1/24" dev "$h"
    ip link set "$h" up
    ip netns exec "$n" sh -ec "
        ip addr replace $(addr "$k")/24 dev $p
        ip link set $p up
        ip link set lo up
        ip route replace 10.231.0.0/16 via 10.231.$k.1"
}

# Docker sets the host's FORWARD policy to DROP; DOCKER-USER is the chain it leaves to us.
FWD_RULE=(-i gdv+ -o gdv+ -s 10.231.0.0/16 -d 10.231.0.0/16 -j ACCEPT)
ensure_forwarding() {
    if ! iptables -C DOCKER-USER "${FWD_RULE[@]}" 2>/dev/null; then
        log "host: iptables -I DOCKER-USER ${FWD_RULE[*]}"
        iptables -I DOCKER-USER "${FWD_RULE[@]}" ||
            log "WARNING: cannot allow forwarding between workers: their gossip will fail (harmless for jobs)"
    fi
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] ||
        log "WARNING: net.ipv4.ip_forward is 0 on the host: workers cannot reach one another (harmless for jobs)"
}

# --- 2. worker dockerds -----------------------------------------------------------------------
start_dockerd() {
    local k=$1 n d ino
    n=$(ns "$k")
    d=$DIR/$n
    mkdir -p "$d"/root "$d"/exec "$d"/run
    ino=$(stat -L -c %i "/var/run/netns/$n")
    log "$n: starting dockerd (log: $d/dockerd.log)"
    echo "=== $(date -Is) start-swarm: starting dockerd" >>"$d/dockerd.log"
    # nsenter, NOT `ip netns exec`: the latter remounts /sys, hiding the cgroup mounts
    # ("Devices cgroup isn't mounted"); nsenter enters only the network namespace.
    # unshare --uts gives the daemon its own hostname (dockerd reports os.Hostname() to swarm).
    # The inode check is belt and braces: a `--bridge none` dockerd in the host's network
    # namespace would delete docker0, so refuse to exec it anywhere but in gdnK.
    # setsid -f: the daemon must outlive this script and its caller's process group.
    # shellcheck disable=SC2016
    setsid -f nsenter --net="/var/run/netns/$n" unshare --uts sh -c '
        [ "$(stat -L -c %i /proc/self/ns/net)" = "$1" ] ||
            { echo "not in network namespace $2: refusing to start dockerd" >&2; exit 1; }
        hostname "$2"
        exec dockerd --data-root "$3/root" --exec-root "$3/exec" --pidfile "$3/run/d.pid" \
            -H "unix://$3/run/d.sock" --bridge none --iptables=false --ip6tables=false' \
        sh "$ino" "$n" "$d" >>"$d/dockerd.log" 2>&1 </dev/null 9>&- # 9: our lock, not theirs
}

ensure_dockerd_started() {
    local k=$1 n pid
    n=$(ns "$k")
    worker_up "$k" && return 0
    pid=$(cat "$DIR/$n/run/d.pid" 2>/dev/null || true)
    if dockerd_alive "$pid"; then
        # Alive but not answering: most likely still starting; the wait below decides.
        return 0
    fi
    # dockerd is dead. Whatever it left in the namespace (containerd, shims, job processes) is
    # an orphan that would confuse the new daemon: kill it first, as if the node had died.
    bash "$(dirname "$0")/stop-swarm.sh" --kill "$n" >/dev/null
    start_dockerd "$k"
}

wait_dockerd() {
    local k=$1 n
    n=$(ns "$k")
    for _ in $(seq 1 150); do
        worker_up "$k" && return 0
        sleep 0.2
    done
    tail -20 "$DIR/$n/dockerd.log" >&2 || true
    die "$n: dockerd did not answer on $(sock "$k") within 30 s; see $DIR/$n/dockerd.log"
}

# --- 3. the manager: the host Engine ----------------------------------------------------------
ensure_manager() {
    local state ctl naddr
    read -r state ctl naddr < <(docker info --format \
        '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeAddr}}')
    if [ "$state" = inactive ]; then
        log "host Engine: swarm init (advertise $MANAGER_ADDR, listen 0.0.0.0:2377)"
        # Listen on every address so that each worker can join through the host side of its
        # own link; advertise an address that every worker namespace routes to.
        docker swarm init --advertise-addr "$MANAGER_ADDR" --listen-addr 0.0.0.0:2377 \
            --data-path-addr "$MANAGER_ADDR" --dispatcher-heartbeat 1s >/dev/null
    elif [ "$state" != active ] || [ "$ctl" != true ] || [ "$naddr" != "$MANAGER_ADDR" ]; then
        die "the host Engine is in a swarm this script did not make (state=$state manager=$ctl" \
            "address=$naddr); leave it first: docker swarm leave --force (or scripts/stop-swarm.sh)"
    fi
    # Heartbeat 1 s (default 5 s) so that a dead worker is marked Down quickly. Measured after
    # `stop-swarm.sh --kill gdnK` (SIGKILL of every process of the node): `docker node ls` says
    # Down 1.5-3.6 s later (8 runs). NB: a task that was running there still shows Running
    # (desired Complete) for as long as the node is Down; it turns Failed ("task: non-zero exit
    # (255)") only when the node comes back.
    if [ "$(docker info --format '{{json .Swarm.Cluster.Spec.Dispatcher.HeartbeatPeriod}}')" != 1000000000 ]; then
        log "host Engine: swarm update --dispatcher-heartbeat 1s"
        docker swarm update --dispatcher-heartbeat 1s >/dev/null
    fi
}

# --- 4. joins ---------------------------------------------------------------------------------
# A worker is fine when its dockerd says it is an active member of THIS swarm (it knows the
# current manager's node id) and the manager knows its node id.
worker_in_swarm() {
    local k=$1 state nid mgrs
    IFS='|' read -r state nid mgrs < <(wdocker "$k" info --format \
        '{{.Swarm.LocalNodeState}}|{{.Swarm.NodeID}}|{{range .Swarm.RemoteManagers}}{{.NodeID}} {{end}}' \
        2>/dev/null || echo 'unknown||')
    [ "$state" = active ] && [ -n "$nid" ] || return 1
    case " $mgrs " in *" $MANAGER_ID "*) ;; *) return 1 ;; esac
    docker node inspect "$nid" >/dev/null 2>&1
}

ensure_joined() {
    local k=$1 n state
    n=$(ns "$k")
    # A restarted worker reconnects on its own ("pending" for a moment): give it some time
    # before deciding it must leave and join again.
    for _ in $(seq 1 50); do
        worker_in_swarm "$k" && return 0
        state=$(wdocker "$k" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true)
        [ "$state" = pending ] || break
        sleep 0.2
    done
    if [ "$state" != inactive ]; then
        log "$n: worker state '$state' not in this swarm: leaving"
        wdocker "$k" swarm leave --force >/dev/null 2>&1 || true
    fi
    log "$n: joining via 10.231.$k.1:2377 (advertise $(addr "$k"))"
    wdocker "$k" swarm join --token "$JOIN_TOKEN" --advertise-addr "$(addr "$k")" \
        --listen-addr "$(addr "$k"):2377" --data-path-addr "$(addr "$k")" "10.231.$k.1:2377" >/dev/null
}

# --- 5. images: no registry, copy them (only when missing or different) ---------------------
load_images() {
    local k=$1 n img want have
    n=$(ns "$k")
    for img in "${IMAGES[@]}"; do
        want=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null || true)
        if [ -z "$want" ]; then
            log "WARNING: $img is not on the host Engine (scripts/build-test-images.sh); not loaded into $n"
            continue
        fi
        have=$(wdocker "$k" image inspect -f '{{.Id}}' "$img" 2>/dev/null || true)
        if [ "$want" != "$have" ]; then
            log "$n: loading $img"
            docker save "$img" | timeout 300 docker -H "unix://$(sock "$k")" load >/dev/null
        fi
    done
}

# --- main ---------------------------------------------------------------------------------------
for k in $(seq 1 "$N"); do ensure_net "$k"; done
ensure_forwarding
# Start the dead daemons all together, then wait for each: they boot in parallel.
for k in $(seq 1 "$N"); do ensure_dockerd_started "$k"; done
for k in $(seq 1 "$N"); do wait_dockerd "$k"; done
if [ "$HAD_DOCKER0" = yes ] && ! ip link show docker0 >/dev/null 2>&1; then
    die "docker0 disappeared from the host: a worker dockerd ran in the host network namespace?"
fi

ensure_manager
MANAGER_ID=$(docker info --format '{{.Swarm.NodeID}}')
JOIN_TOKEN=$(docker swarm join-token -q worker)
for k in $(seq 1 "$N"); do ensure_joined "$k"; done

# Image loads are the slow part of a cold start: one per worker, in parallel.
pids=()
for k in $(seq 1 "$N"); do
    load_images "$k" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || die "loading the test images failed"; done

declare -A NODE_ID
for k in $(seq 1 "$N"); do
    NODE_ID[$k]=$(wdocker "$k" info --format '{{.Swarm.NodeID}}')
done

# Wait until the manager sees every worker Ready (a restarted one goes Down -> Ready).
deadline=$(($(date +%s) + READY_TIMEOUT))
for k in $(seq 1 "$N"); do
    while :; do
        st=$(docker node inspect -f '{{.Status.State}}' "${NODE_ID[$k]}" 2>/dev/null || true)
        [ "$st" = ready ] && break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            docker node ls >&2 || true
            die "$(ns "$k") (node ${NODE_ID[$k]}) is not Ready after ${READY_TIMEOUT} s (state '$st'); see $DIR/$(ns "$k")/dockerd.log"
        fi
        sleep 0.2
    done
done

# Jobs must land on workers only.
if [ "$(docker node inspect -f '{{.Spec.Availability}}' "$MANAGER_ID")" != drain ]; then
    log "host Engine: draining the manager node"
    docker node update --availability drain "$MANAGER_ID" >/dev/null
fi

# Labels (updated only when different, so that a second run changes nothing).
for k in $(seq 1 "$N"); do
    labels=$(docker node inspect -f '{{index .Spec.Labels "god.node"}} {{index .Spec.Labels "godocker.cpus"}}' "${NODE_ID[$k]}")
    if [ "$labels" != "n$k 1" ]; then
        log "$(ns "$k"): labels god.node=n$k godocker.cpus=1"
        docker node update --label-add "god.node=n$k" --label-add godocker.cpus=1 "${NODE_ID[$k]}" >/dev/null
    fi
done

# Forget worker entries left by earlier runs (e.g. a data root wiped while the manager stayed in
# the swarm), so that `docker node ls` stays clean: those that are Down and none of the current
# workers, and those named after one of our workers but with another id (there is only one
# dockerd per name, so such an entry is dead even if the manager has not noticed yet).
declare -A CURRENT=([$MANAGER_ID]=1)
for k in $(seq 1 "$N"); do CURRENT[${NODE_ID[$k]}]=1; done
while read -r id host state role; do
    { [ "$role" = worker ] && [ -z "${CURRENT[$id]:-}" ]; } || continue
    if [ "$state" = down ] || { [[ $host =~ ^gdn([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -le "$N" ]; }; then
        log "removing stale node $id ($host, $state)"
        docker node rm --force "$id" >/dev/null || true
    fi
done < <(docker node ls -q | xargs -r docker node inspect -f '{{.ID}} {{.Description.Hostname}} {{.Status.State}} {{.Spec.Role}}')

# The result: for people on stdout, for tests in $DIR/nodes.
tmp=$(mktemp "$DIR/.nodes.XXXXXX")
for k in $(seq 1 "$N"); do
    echo "$(ns "$k") ${NODE_ID[$k]} $(sock "$k") $(addr "$k")"
done | tee "$tmp"
mv -f "$tmp" "$DIR/nodes"
elapsed_ms=$((($(date +%s%N) - START_NS) / 1000000))
log "swarm ready: $N worker(s) in $((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000))) s (nodes: $DIR/nodes)"
