#!/usr/bin/env bash
# Tear down the Swarm made by scripts/start-swarm.sh, or simulate the death of one of its nodes.
#
# usage: bash scripts/stop-swarm.sh              workers leave, the host Engine leaves the swarm,
#                                                worker dockerds stopped, namespaces gdn* and
#                                                veths gdv* deleted, $GOD_SWARM_DIR removed
#        bash scripts/stop-swarm.sh --kill gdnK  SIGKILL every process of node gdnK (dockerd,
#                                                containerd, shims, job processes); namespace,
#                                                veth and state are kept, so that
#                                                scripts/start-swarm.sh brings the node back
set -euo pipefail

DIR=${GOD_SWARM_DIR:-/var/lib/god-swarm}
export DOCKER_HOST=unix:///var/run/docker.sock
unset DOCKER_CONTEXT

log() { echo "stop-swarm: $*" >&2; }
die() { echo "stop-swarm: ERROR: $*" >&2; exit 1; }

# True if PID is a live dockerd. A killed daemon can linger as a zombie (its parent is the
# machine's init, which reaps when it pleases): /proc/PID/comm still says dockerd, state says Z.
dockerd_alive() {
    local stat
    [ -n "$1" ] || return 1
    read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
    [[ $stat == *"(dockerd) "[!ZX]* ]]
}

# Pids of every process of node $1: those whose network namespace is gdnK, plus all their
# descendants. The descendants matter: a job's processes run in the container's own network
# namespace, but they are children of a containerd shim, which runs in gdnK.
node_pids() {
    local n=$1 d pid stat rest ppid
    declare -A seed=() children=()
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        # Parent pid: field 4 of /proc/PID/stat, after the parenthesised command name.
        read -r stat 2>/dev/null <"$d/stat" || continue
        rest=${stat##*) }
        read -r _ ppid _ <<<"$rest"
        children[$ppid]+=" $pid"
        # /var/run/netns/gdnK is a bind mount of the namespace's nsfs file: -ef (same device
        # and inode) holds for /proc/PID/ns/net of exactly the processes inside.
        [[ $d/ns/net -ef /var/run/netns/$n ]] && seed[$pid]=1
    done
    # Breadth-first walk down from the processes found in the namespace.
    local -a queue=("${!seed[@]}")
    declare -A seen=()
    while [ ${#queue[@]} -gt 0 ]; do
        pid=${queue[0]}
        queue=("${queue[@]:1}")
        [ -n "${seen[$pid]:-}" ] && continue
        seen[$pid]=1
        # shellcheck disable=SC2206
        queue+=(${children[$pid]:-})
    done
    # Never ourselves (only possible if this script was started from inside the namespace).
    unset "seen[$$]" "seen[$BASHPID]"
    echo "${!seen[@]}"
}

# SIGKILL every process of node $1, repeatedly: a process may fork or be restarted (dockerd
# restarts containerd) between the listing and the kill.
kill_node() {
    local n=$1 pids round
    [ -e "/var/run/netns/$n" ] || { log "no network namespace $n"; return 0; }
    # Should gdnK ever be the host's own namespace, this would kill the whole machine.
    if [[ /var/run/netns/$n -ef /proc/1/ns/net || /var/run/netns/$n -ef /proc/$$/ns/net ]]; then
        die "/var/run/netns/$n is the host's network namespace: refusing to kill its processes"
    fi
    for round in $(seq 1 20); do
        pids=$(node_pids "$n")
        [ -n "$pids" ] || return 0
        # shellcheck disable=SC2086
        [ "$round" = 1 ] && log "$n: SIGKILL $(echo $pids | wc -w) process(es):" \
            "$(ps -o comm= -p "${pids// /,}" | sort | uniq -c | awk '{ printf "%s%s(%s)", sep, $2, $1; sep = ", " }')"
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        sleep 0.1
    done
    die "$n: processes still alive after 20 rounds of SIGKILL: $(node_pids "$n")"
}

if [ "${1:-}" = --kill ]; then
    { [ $# = 2 ] && [[ $2 =~ ^gdn[0-9]+$ ]]; } || die "usage: $0 --kill gdnK"
    kill_node "$2"
    exit 0
fi
[ $# = 0 ] || die "usage: $0 [--kill gdnK]"

# Not while a start-swarm.sh is running (same lock; --kill above must not take it: start-swarm.sh
# calls it while holding the lock).
if [ -d "$DIR" ]; then
    exec 9>"$DIR/.lock"
    flock -w 300 9 || die "a start-swarm.sh has held $DIR/.lock for 300 s"
fi

# Workers known to us: state directories and namespaces (either may be left without the other).
declare -A workers=()
for d in "$DIR"/gdn[0-9]*; do [ -d "$d" ] && workers[${d##*/}]=1; done
for f in /var/run/netns/gdn[0-9]*; do [ -e "$f" ] && workers[${f##*/}]=1; done

# 1. Workers leave (best effort: a dead dockerd cannot).
for n in "${!workers[@]}"; do
    s=$DIR/$n/run/d.sock
    if [ -S "$s" ] && timeout 5 docker -H "unix://$s" version >/dev/null 2>&1; then
        log "$n: swarm leave"
        timeout 30 docker -H "unix://$s" swarm leave --force >/dev/null 2>&1 || true
    fi
done

# 2. The host Engine leaves the swarm, if it is the one start-swarm.sh made (address 10.231.*).
if docker info >/dev/null 2>&1; then
    read -r state naddr < <(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.NodeAddr}}')
    if [ "$state" != inactive ]; then
        case $naddr in
            10.231.*)
                log "host Engine: swarm leave --force"
                docker swarm leave --force >/dev/null
                # swarm init made this bridge (172.18.0.0/16, for the ingress sandbox) and
                # leaving keeps it; remove it unless some container still uses it.
                docker network rm docker_gwbridge >/dev/null 2>&1 || true
                ;;
            *) log "host Engine is in a swarm at '$naddr', not ours: left alone" ;;
        esac
    fi
else
    log "WARNING: the host Docker Engine does not answer; it may still be a swarm manager"
fi

# 3. Stop the worker dockerds (SIGTERM: they stop their containers and containerd; all at once,
#    as each may take ~10 s to stop its containers), then kill whatever is left in their
#    namespaces.
declare -A dpid=()
for n in "${!workers[@]}"; do
    pid=$(cat "$DIR/$n/run/d.pid" 2>/dev/null || true)
    if dockerd_alive "$pid"; then
        log "$n: stopping dockerd $pid"
        kill -TERM "$pid" 2>/dev/null || true
        dpid[$n]=$pid
    fi
done
for _ in $(seq 1 200); do
    alive=no
    for pid in "${dpid[@]}"; do dockerd_alive "$pid" && alive=yes; done
    [ "$alive" = no ] && break
    sleep 0.1
done
for n in "${!workers[@]}"; do kill_node "$n"; done

# 4. Unmount what the dead daemons left mounted under the state directory (container rootfs
#    overlays, network namespace files), deepest first, so that rm does not trip over them.
if [ -d "$DIR" ]; then
    awk -v dir="$(realpath "$DIR")/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo |
        sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
fi

# 5. Namespaces and veths (deleting a namespace deletes its veth pair; be thorough anyway).
for n in "${!workers[@]}"; do
    [ -e "/var/run/netns/$n" ] && { log "deleting namespace $n"; ip netns del "$n"; }
done
for l in $(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -E '^gdv[0-9]+0$' || true); do
    log "deleting veth $l"
    ip link del "$l" 2>/dev/null || true
done

# 6. The host's forwarding between worker links (added by start-swarm.sh).
FWD_RULE=(-i gdv+ -o gdv+ -s 10.231.0.0/16 -d 10.231.0.0/16 -j ACCEPT)
while iptables -C DOCKER-USER "${FWD_RULE[@]}" 2>/dev/null; do
    log "host: iptables -D DOCKER-USER ${FWD_RULE[*]}"
    iptables -D DOCKER-USER "${FWD_RULE[@]}"
done

# 7. State.
case $(realpath -m "$DIR") in
    / | /var | /var/lib | /tmp | /root) die "refusing to remove $DIR" ;;
esac
rm -rf --one-file-system "$DIR"
log "done"
