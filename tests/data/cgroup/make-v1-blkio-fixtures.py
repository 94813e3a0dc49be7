#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Re-makes the v1 blkio fixtures of this folder on a hybrid or v1 host, as root, changing no host state
for good: two loop devices of its own (tests/integration/loopdev.py), a child cgroup of its own in the
blkio hierarchy with a read rule on the first device only, I/O on both, the files copied, then the rule,
the cgroup and the devices removed.

    sudo tests/data/cgroup/make-v1-blkio-fixtures.py [OUTDIR]   (default: this folder)
"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'integration'))

from loopdev import LoopDevice  # noqa: E402

BLKIO = '/sys/fs/cgroup/blkio'
RULE_BPS = 10 * 1024 ** 3  # far above what a loop device reads: the rule is there to switch statistics on


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else HERE
    cgroup = f'{BLKIO}/sk-fixture-{os.getpid()}'
    with LoopDevice() as ruled, LoopDevice() as plain:
        os.mkdir(cgroup)
        rule = f'{cgroup}/blkio.throttle.read_bps_device'
        try:
            with open(rule, 'w') as f:
                f.write(f'{ruled.devnum} {RULE_BPS}')
            # 4 MiB of O_DIRECT writes and reads and a 1 MiB discard on the ruled device, 4 MiB of reads
            # on the other one, all from a shell in the child cgroup.
            script = (f'echo $$ > {cgroup}/cgroup.procs && '
                      f'dd if=/dev/zero of={ruled.path} bs=64k count=64 oflag=direct status=none && '
                      f'dd if={ruled.path} of=/dev/null bs=64k count=64 iflag=direct status=none && '
                      f'blkdiscard -o 0 -l 1048576 {ruled.path} && '
                      f'dd if={plain.path} of=/dev/null bs=64k count=64 iflag=direct status=none')
            subprocess.run(['sh', '-c', script], check=True, timeout=60)
            copies = {
                f'{cgroup}/blkio.throttle.io_service_bytes': 'v1-blkio.throttle.io_service_bytes',
                f'{cgroup}/blkio.throttle.io_serviced': 'v1-blkio.throttle.io_serviced',
                f'{BLKIO}/blkio.throttle.io_service_bytes_recursive':
                    'v1-root-blkio.throttle.io_service_bytes_recursive',
                '/proc/diskstats': 'proc-diskstats-hybrid',
            }
            for src, name in copies.items():
                shutil.copyfile(src, os.path.join(out, name))
            print(f'ruled device {ruled.devnum}, plain device {plain.devnum}')
        finally:
            with open(rule, 'w') as f:
                f.write(f'{ruled.devnum} 0')
            os.rmdir(cgroup)


if __name__ == '__main__':
    main()
