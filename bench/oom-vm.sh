#!/bin/sh
# SPDX-License-Identifier: MIT
# The OOM benchmark on pure cgroup v2 (memory.events): run by `tests/vm/run --script bench/oom-vm.sh`, inside
# tests/vm's guest (software-emulated: latencies are slower than on hardware). $1: the build directory.
# COUNT (default 200).
set -eu
exec /usr/bin/python3 bench/oom-bench.py --local --build "$1" --count "${COUNT:-200}" --skip-cost
