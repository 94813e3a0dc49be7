#!/bin/sh
# SPDX-License-Identifier: MIT
# The demo proper, run where systemd is PID 1: tests/demo calls it. $1 is the build directory;
# DEMO_ROOT puts the slices under a root slice; DEMO_SECONDS ends it (default: run until interrupted).
set -eu
B=$1
W=/run/slicekeeper-demo
ROOT=${DEMO_ROOT:-}
PREFIX=${ROOT:+$ROOT-}
CTL="$B/slicekeeper --socket=$W/control.sock"

cleanup() {
        trap - EXIT INT TERM
        echo "==> stopping: the daemon, then the slices it made"
        systemctl stop slicekeeper-demo.service 2>/dev/null || true
        for u in $(ls "$W/state/units" 2>/dev/null); do systemctl stop "$u" 2>/dev/null || true; done
        [ -n "$ROOT" ] && systemctl stop "$ROOT.slice" 2>/dev/null || true
        rm -rf "$W"
        echo "==> clean"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_until() { # SECONDS COMMAND...: poll COMMAND until it succeeds
        t=$1; shift
        end=$(( $(date +%s) + t ))
        until "$@" >/dev/null 2>&1; do
                [ "$(date +%s)" -lt "$end" ] || { echo "timed out waiting for: $*" >&2; return 1; }
                sleep 0.1
        done
}
no_pending() { $CTL plan | grep -q "No pending changes"; }

mkdir -p "$W"
cat > "$W/tree.json" <<'JSON'
{
    "cpu": {
        "sub_cgroup": {
            "test_cgroup_a": {"conf": {"share": 1024}},
            "test_cgroup_b": {
                "conf": {"share": 100},
                "sub_cgroup": {"test_cgroup_b_sub1": {"conf": {"share": 200}}}
            }
        }
    }
}
JSON
systemd-run --quiet --unit=slicekeeper-demo -p Type=notify -p WatchdogSec=30s "$B/slicekeeperd" \
        --tree-file="$W/tree.json" ${ROOT:+--root=$ROOT} --runtime-dir="$W/state" --control-socket="$W/control.sock"
wait_until 10 no_pending

echo "==> the tree (cgrouparch's README example):"
cat "$W/tree.json"
echo "==> the slices slicekeeperd made:"
systemctl list-units --no-pager --type=slice "${PREFIX}test_cgroup*"
for u in "${PREFIX}test_cgroup_a.slice" "${PREFIX}test_cgroup_b.slice" "${PREFIX}test_cgroup_b-test_cgroup_b_sub1.slice"; do
        printf '%-48s %s\n' "$u" "$(systemctl show -p CPUWeight -p MemoryAccounting -p TasksAccounting "$u" | tr '\n' ' ')"
done
echo "==> slicekeeper status:"
$CTL status

echo "==> editing the tree: test_cgroup_b share 100 -> 400 (CPUWeight 10 -> 39)"
sed 's/"share": 100/"share": 400/' "$W/tree.json" > "$W/tree.json.new" && mv "$W/tree.json.new" "$W/tree.json"
wait_until 5 sh -c "systemctl show -P CPUWeight ${PREFIX}test_cgroup_b.slice | grep -qx 39"
printf '%-48s CPUWeight=%s\n' "${PREFIX}test_cgroup_b.slice" "$(systemctl show -P CPUWeight "${PREFIX}test_cgroup_b.slice")"
echo "==> journal:"
journalctl --no-pager -o cat -u slicekeeper-demo.service | tail -n 12

if [ -n "${DEMO_SECONDS:-}" ]; then
        echo "==> running for $DEMO_SECONDS s"
        sleep "$DEMO_SECONDS"
else
        echo "==> running; press Ctrl-C to stop and clean up"
        while :; do sleep 3600; done
fi
