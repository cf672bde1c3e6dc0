#!/usr/bin/env bash
# Start the Docker Engine when none answers (no systemd here), and wait until it does.
set -euo pipefail
if docker info >/dev/null 2>&1; then
    exit 0
fi
echo "start-docker: starting dockerd (log: /var/log/dockerd.log)"
(dockerd >/var/log/dockerd.log 2>&1 &)
for _ in $(seq 1 300); do
    if docker info >/dev/null 2>&1; then
        exit 0
    fi
    sleep 0.2
done
echo "start-docker: dockerd did not answer within 60 s; see /var/log/dockerd.log" >&2
tail -20 /var/log/dockerd.log >&2 || true
exit 1
