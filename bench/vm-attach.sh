#!/bin/sh
# SPDX-License-Identifier: MIT
# The attach benchmark on pure cgroup v2: run by `tests/vm/run --script bench/vm-attach.sh`, inside
# tests/vm's guest (software-emulated, so absolute times are slower than on hardware; the ratios hold
# for the same machine). $1: the build directory. COUNT (default 1000).
set -eu
exec /usr/bin/python3 bench/attach.py --local --build "$1" --count "${COUNT:-1000}" --markdown
