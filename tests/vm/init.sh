#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# PID 1 of the guest's initramfs (tests/vm/build-image.sh): load the modules for the virtio disk and
# the 9p share, mount the root disk and the share (at the host's path, given as skvm.share=PATH on the
# kernel command line), then hand over to systemd.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() { echo "SKVM-END 3 initramfs: $*" > /dev/console; sleep 1; poweroff -f; }
while read -r m; do
        insmod "/modules/$m.ko" || fail "insmod $m"
done < /modules/order
share=
for arg in $(cat /proc/cmdline); do
        case "$arg" in skvm.share=*) share=${arg#skvm.share=} ;; esac
done
i=0
while [ ! -b /dev/vda ]; do
        i=$((i + 1)); [ $i -le 100 ] || fail "no /dev/vda"
        sleep 0.1
done
mount -t ext4 -o rw /dev/vda /newroot || fail "mount /dev/vda"
if [ -n "$share" ]; then
        mkdir -p "/newroot$share"
        mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none host "/newroot$share" ||
                fail "mount the 9p share at $share"
        echo "$share" > /newroot/etc/skvm-share
fi
umount /proc /sys
exec switch_root /newroot /lib/systemd/systemd
