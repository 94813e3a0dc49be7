# SPDX-License-Identifier: MIT
# Shared set-up for tests/run-all and tests/demo: Debian packages, then the two builds.
# Sourced; expects to run as root on Debian 12 from the repository root.

PACKAGES="meson ninja-build pkg-config gcc libc6-dev
          libsystemd-dev libjansson-dev libinih-dev libzookeeper-st-dev libhiredis-dev libmicrohttpd-dev
          systemd dbus util-linux procps python3 python3-pytest python3-kazoo python3-redis python3-websocket
          libzookeeper-java default-jre-headless redis-server python3-prometheus-client
          qemu-system-x86 debootstrap busybox-static e2fsprogs
          clang libclang-rt-14-dev
          chromium libjs-dygraphs"

need_root() {
        if [ "$(id -u)" != 0 ]; then
                echo "$0: must run as root (it installs packages and boots a systemd testbed)." >&2
                exit 1
        fi
}

install_packages() {
        missing=""
        for p in $PACKAGES; do
                dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
        done
        if [ -n "$missing" ]; then
                echo "==> apt-get install$missing"
                apt-get update -qq
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
        fi
}

# build DIR [meson options...]
build() {
        dir=$1; shift
        if [ -f "$dir/build.ninja" ]; then
                meson setup --reconfigure "$dir" "$@" >/dev/null
        else
                meson setup "$dir" "$@" >/dev/null
        fi
        ninja -C "$dir" >/dev/null
}
