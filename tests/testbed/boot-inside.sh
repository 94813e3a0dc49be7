#!/bin/sh
# Runs as PID 1 of fresh pid/mount/uts/ipc/cgroup namespaces (started by testbed.py through
# `unshare --propagation private`), builds a throw-away root and execs systemd in it.
#
# usage: boot-inside.sh ROOT NAME CGROUP-SPEC... -- BIND...
#   ROOT         empty host directory to mount the new root on (only this mount namespace sees it)
#   NAME         hostname and value of $container for systemd
#   CGROUP-SPEC  "dir:fstype:options" for every hierarchy under the host's /sys/fs/cgroup,
#                e.g. "cpu:cgroup:cpu", "systemd:cgroup:none,name=systemd", "unified:cgroup2:"
#   BIND         host directory bind-mounted read-write at the same path inside
#
# Everything here happens in a private mount namespace, so nothing leaks to the host and nothing
# has to be unmounted: the namespace dies with systemd.
set -eu

die() { echo "boot-inside: $*" >&2; exit 1; }

[ $# -ge 3 ] || die "usage: $0 ROOT NAME CGROUP-SPEC... -- BIND..."
root=$1 name=$2
shift 2

# Belt and braces: unshare --propagation private already did this, but a mount event must never
# propagate back to the host.
mount --make-rprivate /

mount -t tmpfs -o mode=0755 "$name-root" "$root"
cd "$root"

# /usr read-only: the tests must not be able to damage the host's installation.
mkdir usr
mount --bind /usr usr
mount -o remount,bind,ro usr
for d in bin sbin lib lib64; do
        if [ -e "/usr/$d" ]; then ln -s "usr/$d" "$d"; fi
done
mkdir -p root home srv opt mnt media

# A minimal /etc. Copies, not binds: systemd writes machine-id, hostname, presets ... in there.
mkdir etc
for f in passwd group shadow gshadow nsswitch.conf hosts login.defs ld.so.cache ld.so.conf; do
        if [ -e "/etc/$f" ]; then cp -L "/etc/$f" "etc/$f"; fi
done
cp -L /etc/os-release etc/os-release
if [ -L /etc/localtime ]; then cp -P /etc/localtime etc/localtime; fi
# alternatives: /usr/bin/awk and friends are symlinks through /etc/alternatives.
for d in alternatives dbus-1 systemd ld.so.conf.d pam.d security; do
        if [ -d "/etc/$d" ]; then cp -a "/etc/$d" "etc/$d"; fi
done
# No host service may start in here: the host's enablement (redis, postgresql, timers, timesyncd
# which would set the host clock, ...) and aliases are symlinks in etc/systemd/system. Masks
# (links to /dev/null) stay: whatever the host masked has a reason.
find etc/systemd/system -type l ! -lname /dev/null -delete
# console-getty would sit on our console (and may hang it up); modprobe@ would load modules
# into the host kernel.
for u in console-getty.service modprobe@.service systemd-modules-load.service; do
        ln -sf /dev/null "etc/systemd/system/$u"
done
# Empty (not missing): systemd generates a transient id, and it is not a "first boot", which
# would run preset-all and enable networkd/resolved (they would act on the shared host network).
: > etc/machine-id
echo "$name" > etc/hostname
printf 'NAME=%s\n' "$name" > etc/machine-info
# Keep mtab consistent for tools that still read it.
ln -s ../proc/self/mounts etc/mtab

# proc and sysfs of the new namespaces. /proc/sys and sysfs read-only, like systemd-nspawn does:
# the network namespace is the host's, so systemd-sysctl, systemd-binfmt, udev coldplug ... must
# see read-only paths (their units are conditioned on that) and must not change the host kernel.
mkdir proc sys dev run tmp var
mount -t proc -o nosuid,nodev,noexec proc proc
echo "$name" > proc/sys/kernel/hostname        # UTS namespace is ours
mount --bind proc/sys proc/sys
mount -o remount,bind,ro,nosuid,nodev,noexec proc/sys
if [ -e proc/sysrq-trigger ]; then
        mount --bind proc/sysrq-trigger proc/sysrq-trigger
        mount -o remount,bind,ro proc/sysrq-trigger
fi
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs sys

# cgroups: fresh mounts in our cgroup namespace show the host's sktest-<n> directory as root, and
# they are writable, which is the whole point (nspawn mounts v1 read-only).
mount -t tmpfs -o nosuid,nodev,noexec,mode=0755 cgroup sys/fs/cgroup
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        dir=${1%%:*} rest=${1#*:}
        fstype=${rest%%:*} opts=${rest#*:}
        mkdir "sys/fs/cgroup/$dir"
        mount -t "$fstype" -o "nosuid,nodev,noexec${opts:+,$opts}" cgroup "sys/fs/cgroup/$dir"
        shift
done
if [ $# -gt 0 ]; then shift; fi   # the "--"
mount -o remount,ro,nosuid,nodev,noexec,mode=0755 sys/fs/cgroup

# /dev: only harmless host devices, plus a private devpts instance.
mount -t tmpfs -o nosuid,mode=0755 dev dev
for n in null zero full random urandom tty; do
        touch "dev/$n"
        mount --bind "/dev/$n" "dev/$n"
done
# The kernel log, read-only, when asked for (SKTB_KERNEL_LOG=1, testbed.py's kernel_log): the daemon reads
# OOM kills' victims from it, as root may on a real host; writing to it would reach the host's log.
if [ "${SKTB_KERNEL_LOG:-0}" = 1 ] && [ -c /dev/kmsg ]; then
        touch dev/kmsg
        mount --bind /dev/kmsg dev/kmsg
        mount -o remount,bind,ro dev/kmsg
fi
# PID 1 of a container logs to /dev/console, and only if it is a tty: testbed.py gives us a pty
# as stdout, whose other end goes to its console.log.
if [ -t 1 ]; then
        touch dev/console
        mount --bind /proc/self/fd/1 dev/console
fi
mkdir dev/pts dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts dev/pts
ln -s pts/ptmx dev/ptmx
mount -t tmpfs -o nosuid,nodev,mode=1777 shm dev/shm
ln -s /proc/self/fd dev/fd
ln -s /proc/self/fd/0 dev/stdin
ln -s /proc/self/fd/1 dev/stdout
ln -s /proc/self/fd/2 dev/stderr

mount -t tmpfs -o nosuid,nodev,mode=0755 run run
mount -t tmpfs -o nosuid,nodev,mode=1777 tmp tmp
mount -t tmpfs -o nosuid,nodev,mode=0755 var var
mkdir -p var/tmp var/lib var/log var/cache
chmod 1777 var/tmp

# The binds come last so that paths below /tmp, /var ... land on the final mounts.
for b in "$@"; do
        [ -d "$b" ] || die "bind source $b is not a directory"
        mkdir -p "$root$b"
        mount --rbind "$b" "$root$b"
done

mkdir .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot

# A real boot gives services DefaultLimitNOFILE=1024:524288; that needs PID 1's own hard limit
# that high (dbus-daemon, for one, raises its soft limit to 65536). Best effort: raising it needs
# CAP_SYS_RESOURCE, which some sandboxes (this VM's process_api) do not grant.
hard=$(ulimit -H -n)
if [ "$hard" != unlimited ] && [ "$hard" -lt 524288 ]; then
        ulimit -H -n 524288 2>/dev/null || true
fi

# A clean environment: nothing of the caller's (pyenv, virtualenvs, ...) leaks into the services.
# systemd keys its container behaviour on $container.
# The network namespace and the kernel are the host's: like systemd-nspawn, take away what would
# let a unit change them (networkd, timesyncd, modules ... are conditioned on these capabilities).
# CAP_SYSLOG stays only with the kernel log bound in (read-only above: reading is what it is for).
drop=-net_admin,-sys_module,-sys_time,-sys_rawio,-syslog,-wake_alarm,-mac_admin,-mac_override
if [ "${SKTB_KERNEL_LOG:-0}" = 1 ]; then
        drop=-net_admin,-sys_module,-sys_time,-sys_rawio,-wake_alarm,-mac_admin,-mac_override
fi
exec env -i container="$name" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin \
        setpriv --bounding-set "$drop" /lib/systemd/systemd
