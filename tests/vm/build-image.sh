#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the pure cgroup v2 guest for tests/vm/run into a cache directory, from Debian packages only:
#   vmlinuz      the kernel linux-image-amd64 depends on (downloaded, unpacked with dpkg -x, not installed)
#   initrd.img   a busybox initramfs that loads virtio/ext4/9p modules, mounts the root disk and the
#                9p share, and switch_roots to systemd
#   root.ext4    debootstrap --variant=minbase of bookworm with systemd 252, the daemon's runtime
#                libraries (also the ASan+UBSan build's), redis-server, Debian's python3 test modules
#                and cgroup-tools (bench/vm-attach.sh)
# Usage: build-image.sh CACHE_DIR   (prints the image directory on stdout; reuses it when it exists)
# The image directory is named after a hash of this script, init.sh and the package list, so any
# change to them builds a new image. As root; needs debootstrap, busybox-static, e2fsprogs.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${1:?usage: build-image.sh CACHE_DIR}

PACKAGES=systemd,systemd-sysv,dbus,udev,kmod,procps,\
libsystemd0,libjansson4,libinih1,libzookeeper-st2,libhiredis0.14,libmicrohttpd12,\
redis-server,python3,python3-pytest,python3-websocket,python3-redis,python3-prometheus-client,\
cgroup-tools,libasan8,libubsan1,libstdc++6
# The first mirror apt already uses (deb822 .sources or one-line sources.list), read at run time.
mirror() {
        for f in /etc/apt/sources.list.d/*.sources; do
                [ -e "$f" ] || continue
                awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f"
        done
        [ -e /etc/apt/sources.list ] && awk '$1 == "deb" && $0 !~ /security/ { print $2 }' /etc/apt/sources.list
}
MIRROR=$(mirror | head -n 1)
[ -n "$MIRROR" ] || { echo "build-image: no Debian mirror found in /etc/apt/sources.list{,.d}" >&2; exit 1; }
KVER=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { sub("linux-image-", "", $2); print $2; exit }')
[ -n "$KVER" ] || { echo "build-image: cannot tell which kernel linux-image-amd64 depends on" >&2; exit 1; }

KEY=$(cat "$0" "$HERE/init.sh" | { cat; echo "$PACKAGES $KVER"; } | sha256sum | cut -c1-16)
OUT="$CACHE/guest-$KEY"
if [ -s "$OUT/root.ext4" ] && [ -s "$OUT/initrd.img" ] && [ -s "$OUT/vmlinuz" ]; then
        echo "$OUT"
        exit 0
fi

mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log() { echo "build-image: $*" >&2; }

log "kernel $KVER"
(cd "$WORK" && apt-get download -q "linux-image-$KVER" >/dev/null 2>&1) ||
        { log "apt-get download linux-image-$KVER failed"; exit 1; }
dpkg -x "$WORK"/linux-image-*.deb "$WORK/kernel"
KDIR="$WORK/kernel/lib/modules/$KVER"

log "debootstrap bookworm from $MIRROR (about a minute)"
if ! debootstrap --variant=minbase --include="$PACKAGES" bookworm "$WORK/root" "$MIRROR" \
                >"$WORK/debootstrap.log" 2>&1; then
        tail -n 30 "$WORK/debootstrap.log" >&2
        exit 1
fi

log "configuring the guest"
R="$WORK/root"
: > "$R/etc/fstab"                                    # a failed fstab mount would make it 'degraded'
echo skvm > "$R/etc/hostname"
: > "$R/etc/machine-id"
chroot "$R" passwd -d root >/dev/null
for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer \
         e2scrub_reap.service getty@tty1.service serial-getty@ttyS0.service redis-server.service \
         systemd-timesyncd.service; do
        ln -sf /dev/null "$R/etc/systemd/system/$u"
done
# The suite: run from the share (so the image does not change with the code), then power off.
cat > "$R/etc/systemd/system/skvm-suite.service" <<'UNIT'
[Unit]
Description=slicekeeper tests on pure cgroup v2
After=multi-user.target
ConditionPathExists=/etc/skvm-share

[Service]
Type=simple
ExecStart=/bin/sh -c "exec /bin/sh $$(cat /etc/skvm-share)/tests/vm/guest-suite.sh"
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
ExecStopPost=/bin/systemctl --no-block poweroff
UNIT
mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
ln -sf ../skvm-suite.service "$R/etc/systemd/system/multi-user.target.wants/skvm-suite.service"
rm -rf "$R/var/cache/apt/archives"/*.deb "$R/var/lib/apt/lists"/* "$R/usr/share/doc" "$R/usr/share/man" \
       "$R/usr/share/locale"

log "initramfs"
I="$WORK/initramfs"
mkdir -p "$I/bin" "$I/modules" "$I/dev" "$I/proc" "$I/sys" "$I/newroot"
cp /bin/busybox "$I/bin/busybox"
cp "$HERE/init.sh" "$I/init"
chmod 755 "$I/init"
# The modules to load, dependencies first, from each module's own "depends=" (the package ships no
# modules.dep and the host has no depmod). ext4 needs crc32c only as a soft dependency (softdep), which
# depends= does not name: crc32c_generic is listed by hand.
python3 - "$KDIR" "$I/modules" virtio_pci virtio_blk crc32c_generic ext4 9pnet_virtio 9p <<'PY'
import os, re, shutil, sys
kdir, out, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
builtin = set()
with open(os.path.join(kdir, 'modules.builtin')) as f:
    builtin = {os.path.basename(l.strip()).split('.')[0].replace('-', '_') for l in f}
paths = {}
for d, _, files in os.walk(os.path.join(kdir, 'kernel')):
    for n in files:
        if n.endswith('.ko'):
            paths[n[:-3].replace('-', '_')] = os.path.join(d, n)
def deps(name):
    with open(paths[name], 'rb') as f:
        m = re.search(rb'\x00depends=([^\x00]*)\x00', f.read())
    return [d.decode().replace('-', '_') for d in (m.group(1).split(b',') if m and m.group(1) else [])]
order, seen = [], set()
def visit(name):
    if name in seen or name in builtin:
        return
    if name not in paths:
        sys.exit(f'build-image: module {name} is neither built in nor in {kdir}')
    seen.add(name)
    for d in deps(name):
        visit(d)
    order.append(name)
for w in wanted:
    visit(w)
with open(os.path.join(out, 'order'), 'w') as f:
    for i, name in enumerate(order):
        shutil.copy(paths[name], os.path.join(out, f'{name}.ko'))
        f.write(f'{name}\n')
PY
(cd "$I" && find . | busybox cpio -o -H newc 2>/dev/null) > "$WORK/initrd.cpio"
[ -s "$WORK/initrd.cpio" ] || { log "busybox cpio made no initramfs"; exit 1; }
gzip -1 -c "$WORK/initrd.cpio" > "$WORK/initrd.img"
cp "$WORK/kernel/boot/vmlinuz-$KVER" "$WORK/vmlinuz"

log "root.ext4"
mkfs.ext4 -q -F -L skvm -d "$R" "$WORK/root.ext4" 1G

mkdir -p "$OUT.tmp"
mv "$WORK/vmlinuz" "$WORK/initrd.img" "$WORK/root.ext4" "$OUT.tmp/"
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
# Older images of this cache are of no use any more.
for old in "$CACHE"/guest-*; do
        [ "$old" = "$OUT" ] || rm -rf "$old"
done
log "done: $OUT"
echo "$OUT"
