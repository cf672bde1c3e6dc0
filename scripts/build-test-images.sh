#!/usr/bin/env bash
# Build the local test images used by the Docker executor's integration tests, without any image
# registry (none is reachable here): each image is a root filesystem imported with `docker import`.
#
#   god-test/minimal:latest  busybox-static applets in /bin (with /bin/sh) + bash-static as /bin/bash;
#                            /etc/passwd and /etc/group hold only root (no useradd, no su), like an
#                            Alpine-based image.
#   god-test/debian:bookworm debootstrap --variant=minbase bookworm (about 200 MB, 30 s or more).
#
# Usage: scripts/build-test-images.sh [--force] [minimal|debian ...]
#   --force  rebuild images that already exist.
# Needs: root, docker (client), dockerd (started here when not running), busybox-static,
# bash-static, debootstrap and network access to deb.debian.org for the Debian image.
set -euo pipefail

FORCE=0
WANTED=()
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        minimal | debian) WANTED+=("$arg") ;;
        -h | --help)
            sed -n '2,13p' "$0"
            exit 0
            ;;
        *)
            echo "unknown argument: $arg (expected --force, minimal or debian)" >&2
            exit 2
            ;;
    esac
done
if [ "${#WANTED[@]}" -eq 0 ]; then
    WANTED=(minimal debian)
fi

MINIMAL=god-test/minimal:latest
DEBIAN=god-test/debian:bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { echo "build-test-images: $*"; }

# Temporary root filesystems, removed on exit (also on failure).
CLEANUP=()
cleanup() {
    if [ "${#CLEANUP[@]}" -gt 0 ]; then
        rm -rf "${CLEANUP[@]}"
    fi
}
trap cleanup EXIT

ensure_dockerd() {
    if docker info >/dev/null 2>&1; then
        return
    fi
    log "starting dockerd (log in /var/log/dockerd.log)"
    (dockerd >/var/log/dockerd.log 2>&1 &)
    for _ in $(seq 1 150); do
        if docker info >/dev/null 2>&1; then
            log "dockerd is up"
            return
        fi
        sleep 0.2
    done
    echo "dockerd did not come up in 30 s; see /var/log/dockerd.log" >&2
    exit 1
}

# exists IMAGE: true when the image is present on the Engine.
exists() { docker image inspect "$1" >/dev/null 2>&1; }

# should_build IMAGE: false (with a message) when it exists and --force was not given.
should_build() {
    if exists "$1" && [ "$FORCE" -eq 0 ]; then
        log "$1 already exists (use --force to rebuild)"
        return 1
    fi
    return 0
}

# import DIR IMAGE: replace IMAGE by the root filesystem in DIR.
import_rootfs() {
    local old
    old=$(docker image inspect --format '{{.Id}}' "$2" 2>/dev/null || true)
    log "importing $1 as $2"
    tar --numeric-owner -C "$1" -c . | docker import - "$2" >/dev/null
    if [ -n "$old" ] && [ "$old" != "$(docker image inspect --format '{{.Id}}' "$2")" ]; then
        # The image it replaces (now untagged); kept if a container still uses it.
        docker rmi "$old" >/dev/null 2>&1 || true
    fi
    log "$2: $(docker image inspect --format '{{.Size}}' "$2") bytes"
}

find_binary() {
    for candidate in "$@"; do
        if [ -x "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

build_minimal() {
    should_build "$MINIMAL" || return 0
    local busybox bash_static dir
    busybox=$(find_binary /bin/busybox /usr/bin/busybox) || {
        echo "busybox not found: apt-get install busybox-static" >&2
        exit 1
    }
    if command -v file >/dev/null 2>&1 && ! file -L "$busybox" | grep -q 'statically linked'; then
        echo "$busybox is not statically linked: apt-get install busybox-static" >&2
        exit 1
    fi
    bash_static=$(find_binary /bin/bash-static /usr/bin/bash-static) || {
        echo "bash-static not found: apt-get install bash-static" >&2
        exit 1
    }
    dir=$(mktemp -d /tmp/god-test-minimal.XXXXXX)
    CLEANUP+=("$dir")
    log "building $MINIMAL in $dir from $busybox and $bash_static"
    mkdir -p "$dir"/{bin,etc,root,tmp,proc,sys,dev,mnt,home,var/tmp,usr}
    chmod 1777 "$dir/tmp" "$dir/var/tmp"
    chmod 0700 "$dir/root"
    # One tree: /usr/bin, /sbin and /usr/sbin lead to /bin (so /usr/bin/env works in shebangs).
    ln -s bin "$dir/sbin"
    ln -s ../bin "$dir/usr/bin"
    ln -s ../bin "$dir/usr/sbin"
    install -m 0755 "$busybox" "$dir/bin/busybox"
    local applet
    for applet in $("$busybox" --list); do
        case "$applet" in
            busybox | bash) ;;
            *) ln -sf busybox "$dir/bin/$applet" ;;
        esac
    done
    install -m 0755 "$bash_static" "$dir/bin/bash"
    # No tools to add users: the image only knows root, like an Alpine-based image.
    rm -f "$dir/bin/adduser" "$dir/bin/addgroup" "$dir/bin/su" "$dir/bin/useradd" "$dir/bin/sudo"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$dir/etc/passwd"
    printf 'root:x:0:\n' >"$dir/etc/group"
    printf 'god-test-minimal\n' >"$dir/etc/hostname"
    [ -x "$dir/bin/sh" ] || {
        echo "busybox provides no sh applet" >&2
        exit 1
    }
    import_rootfs "$dir" "$MINIMAL"
}

build_debian() {
    should_build "$DEBIAN" || return 0
    command -v debootstrap >/dev/null 2>&1 || {
        echo "debootstrap not found: apt-get install debootstrap" >&2
        exit 1
    }
    local dir
    dir=$(mktemp -d /tmp/god-test-debian.XXXXXX)
    CLEANUP+=("$dir" "$dir.log")
    log "building $DEBIAN in $dir: debootstrap --variant=minbase bookworm from $DEBIAN_MIRROR (30 s or more)"
    if ! debootstrap --variant=minbase bookworm "$dir" "$DEBIAN_MIRROR" >"$dir.log" 2>&1; then
        echo "debootstrap failed; last lines of $dir.log:" >&2
        tail -n 20 "$dir.log" >&2
        exit 1
    fi
    # Leave no apt lists or caches in the image.
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    import_rootfs "$dir" "$DEBIAN"
}

ensure_dockerd
for image in "${WANTED[@]}"; do
    case "$image" in
        minimal) build_minimal ;;
        debian) build_debian ;;
    esac
done
log "done: $(docker images --format '{{.Repository}}:{{.Tag}}' | grep '^god-test/' | tr '\n' ' ')"
