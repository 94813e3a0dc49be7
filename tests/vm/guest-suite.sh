#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the guest (skvm-suite.service, from tests/vm/build-image.sh): the tests that must hold on
# every cgroup layout, against this guest's systemd on pure cgroup v2 (test_hierarchies.py), plus the
# Redis and /metrics paths, whose numbers come from the v2 files here, and per-user fair share (issue 14's
# Done means on v2: cpu.max, cpu.weight, memory.max/memory.events; the penalty box, limits, users.d).
# Output goes to the serial
# console, which tests/vm/run reads; the last line is "SKVM-END <exit status>". The service powers the
# guest off when this ends.
set -u
share=$(cat /etc/skvm-share)
build= script=
for arg in $(cat /proc/cmdline); do
        case "$arg" in
        skvm.build=*) build=${arg#skvm.build=} ;;
        skvm.script=*) script=${arg#skvm.script=} ;;  # tests/vm/run --script: run that instead
        esac
done
end() { echo "SKVM-END $1"; exit 0; }
[ -n "$build" ] && [ -x "$build/slicekeeperd" ] || end "2 no daemon in skvm.build=$build"
state=$(timeout 120 systemctl is-system-running --wait)
echo "SKVM-BOOTED $state kernel=$(uname -r) cgroup2-controllers=$(tr ' ' , < /sys/fs/cgroup/cgroup.controllers)"
[ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || end "2 /sys/fs/cgroup is not cgroup2"
cd "$share" || end "2 no share"
if [ -n "$script" ]; then
        SLICEKEEPER_TESTBED=local PYTHONDONTWRITEBYTECODE=1 "./$script" "$build"
        end $?
fi
SLICEKEEPER_TESTBED=local SLICEKEEPER_TIME_SCALE=4 SLICEKEEPER_BUILD="$build" PYTHONDONTWRITEBYTECODE=1 \
        /usr/bin/python3 -m pytest -p no:cacheprovider -q -rfE --color=no --junitxml="$build/vm-integration.xml" \
        tests/integration/test_hierarchies.py \
        tests/integration/test_sample.py::test_redis_gets_one_key_per_second_and_survives_a_restart \
        tests/integration/test_sample.py::test_metrics_parse_and_agree_with_show_account \
        tests/integration/test_fair_share.py \
        tests/integration/test_penalty.py \
        tests/integration/test_oom.py
end $?
