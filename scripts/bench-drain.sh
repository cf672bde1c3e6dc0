#!/usr/bin/env bash
# Drain rate of trivial jobs, Go-Docker against Slurm, on this machine, in one command.
#
#   Go-Docker: N `true` jobs queued, then drained by `god up`'s loops on the native executor
#              (processes on the host as nobody; data directory on tmpfs) and on the fake one.
#   Slurm:     Debian's slurm-wlm, single node on loopback (recipe: platform-recipes.md), N
#              `sbatch --wrap true` jobs submitted as fast as sbatch goes, timed until the queue
#              is empty.
#
# Usage: scripts/bench-drain.sh [N]   (default 2000; Slurm gets min(N, 500) jobs)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
SLURM_N=$(( N < 500 ? N : 500 ))

cargo build --release -p god >/dev/null
GOD=target/release/god
TMP=/dev/shm

echo "== Go-Docker"
$GOD bench drain --executor fake --jobs "$N" --dir "$TMP" | tee /tmp/god-drain-fake.txt
$GOD bench drain --executor native --jobs "$N" --dir "$TMP" | tee /tmp/god-drain-native.txt
# The same concurrency as this Slurm node (2 CPUs: 2 jobs at a time).
$GOD bench drain --executor native --slots 2 --jobs "$SLURM_N" --dir "$TMP" | tee /tmp/god-drain-native2.txt

echo "== Slurm"
if ! command -v slurmctld >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge bc >/dev/null
fi
NODELINE=$(slurmd -C | head -1)
NODE=$(hostname -s)
mkdir -p /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm /run/munge
chown -R slurm:slurm /var/lib/slurm /var/log/slurm 2>/dev/null || true
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=localcluster
SlurmctldHost=localhost
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SlurmUser=slurm
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/lib/slurm/slurmd
StateSaveLocation=/var/lib/slurm/slurmctld
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=100
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$NODELINE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
chown munge:munge /run/munge
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged
pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
for _ in $(seq 1 100); do
    [ "$(sinfo -h -o %T 2>/dev/null | head -1)" = idle ] && break
    sleep 0.2
done
OUT=$TMP/slurm-bench; rm -rf "$OUT"; mkdir -p "$OUT"; chmod 777 "$OUT"
start=$(date +%s.%N)
for _ in $(seq 1 "$SLURM_N"); do
    sbatch --parsable --uid=nobody --gid=nogroup -o "$OUT/%j.out" --wrap true >/dev/null
done
submitted=$(date +%s.%N)
while [ -n "$(squeue -h -o %i 2>/dev/null | head -1)" ]; do sleep 0.1; done
end=$(date +%s.%N)
slurm_rate=$(echo "$SLURM_N / ($end - $start)" | bc -l)
sbatch_rate=$(echo "$SLURM_N / ($submitted - $start)" | bc -l)
printf 'slurm: %d trivial jobs in %.2f s: %.0f jobs/s (sbatch alone: %.0f submissions/s)\n' \
    "$SLURM_N" "$(echo "$end - $start" | bc -l)" "$slurm_rate" "$sbatch_rate"
kill "$(cat /run/slurmd.pid)" "$(cat /run/slurmctld.pid)" 2>/dev/null || true
kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true

native=$(grep -o '[0-9]* jobs/s' /tmp/god-drain-native.txt | grep -o '[0-9]*')
native2=$(grep -o '[0-9]* jobs/s' /tmp/god-drain-native2.txt | grep -o '[0-9]*')
printf 'ratio: Go-Docker native, 2 jobs at a time like this Slurm node: %.0f x the rate of Slurm\n' "$(echo "$native2 / $slurm_rate" | bc -l)"
printf 'ratio: Go-Docker native, 64 jobs at a time: %.0f x the rate of Slurm\n' "$(echo "$native / $slurm_rate" | bc -l)"
