/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "io-coverage.h"
#include "macro.h"

const char *io_counted_by_to_string(IoCountedBy by) {
        static const char *const names[_IO_COUNTED_BY_MAX] = {
                [IO_COUNTED_BY_BLKIO_THROTTLE] = "blkio.throttle.io_service_bytes_recursive",
                [IO_COUNTED_BY_IO_STAT] = "io.stat",
        };

        return (unsigned) by < _IO_COUNTED_BY_MAX ? names[by] : NULL;
}

const char *io_coverage_reason(IoCountedBy by) {
        switch (by) {
        case IO_COUNTED_BY_BLKIO_THROTTLE:
                return "the v1 blkio controller keeps no statistics for a device until a throttle rule "
                       "(IOReadBandwidthMax= or the like) has been set on it (Linux 6.10 and later)";
        case IO_COUNTED_BY_NONE:
                return "neither a v1 blkio hierarchy nor the cgroup2 io controller is available";
        default:
                return NULL;
        }
}

static bool root_lists(const CgIoStats *root, unsigned major, unsigned minor) {
        for (size_t i = 0; root && i < root->n; i++)
                if (root->dev[i].major == major && root->dev[i].minor == minor)
                        return true;
        return false;
}

void io_coverage_decide(IoCountedBy by, const CgDiskStats *disks, const CgIoStats *root, IoCoverage *ret) {
        bool root_full = root && root->n >= CG_IO_DEVICES_MAX;

        assert(ret);

        ret->by = by;
        ret->n = 0;
        ret->n_left_out = disks ? disks->n_left_out : 0;
        ret->n_skipped = disks ? disks->n_skipped : 0;
        for (size_t i = 0; disks && i < MIN(disks->n, (size_t) CG_DISKS_MAX); i++) {
                const CgDisk *d = &disks->disk[i];
                bool counted;

                if (d->partition)
                        continue;
                if (by == IO_COUNTED_BY_IO_STAT)
                        counted = true;
                else if (by == IO_COUNTED_BY_BLKIO_THROTTLE) {
                        counted = root_lists(root, d->major, d->minor);
                        if (!counted && root_full) {
                                ret->n_left_out++;
                                continue;
                        }
                } else
                        counted = false;
                ret->dev[ret->n] = (IoDeviceCoverage) { .major = d->major, .minor = d->minor, .counted = counted };
                memcpy(ret->dev[ret->n].name, d->name, sizeof(d->name));
                ret->n++;
        }
}

size_t io_partitions_carry(const CgDiskStats *known, CgDiskStats *disks, bool ret_unknown[static CG_DISKS_MAX]) {
        size_t n_known = known ? MIN(known->n, (size_t) CG_DISKS_MAX) : 0, unknown = 0, hint = 0;

        assert(disks);

        for (size_t i = 0; i < MIN(disks->n, (size_t) CG_DISKS_MAX); i++) {
                CgDisk *d = &disks->disk[i];

                ret_unknown[i] = true;
                /* Both lists are in file order, which is stable: start where the last match left off. */
                for (size_t k = 0; k < n_known; k++) {
                        const CgDisk *o = &known->disk[(hint + k) % n_known];

                        if (o->major == d->major && o->minor == d->minor && streq(o->name, d->name)) {
                                d->partition = o->partition;
                                ret_unknown[i] = false;
                                hint = (hint + k + 1) % n_known;
                                break;
                        }
                }
                unknown += ret_unknown[i];
        }
        return unknown;
}

IoCoverageChange io_coverage_change(const IoCoverage *old, const IoDeviceCoverage *d) {
        assert(d);

        for (size_t i = 0; old && i < old->n; i++)
                if (old->dev[i].major == d->major && old->dev[i].minor == d->minor) {
                        if (old->dev[i].counted == d->counted)
                                return IO_COVERAGE_SAME;
                        return d->counted ? IO_COVERAGE_COUNTED_NOW : IO_COVERAGE_NOT_COUNTED;
                }
        return d->counted ? IO_COVERAGE_SAME : IO_COVERAGE_NOT_COUNTED;
}

json_t *io_coverage_to_json(const IoCoverage *c) {
        json_t *counted = json_array(), *not_counted = json_array();
        const char *by = io_counted_by_to_string(c->by);

        assert(c);

        for (size_t i = 0; i < c->n; i++) {
                char dev[32];

                snprintf(dev, sizeof(dev), "%u:%u", c->dev[i].major, c->dev[i].minor);
                if (c->dev[i].counted)
                        json_array_append_new(counted, json_pack("{s:s, s:s}", "device", dev, "name", c->dev[i].name));
                else
                        json_array_append_new(not_counted, json_pack("{s:s, s:s, s:s}", "device", dev, "name",
                                                                     c->dev[i].name, "reason",
                                                                     io_coverage_reason(c->by)));
        }
        return json_pack("{s:o, s:o, s:o, s:I, s:I}", "counted_by", by ? json_string(by) : json_null(), "counted",
                         counted, "not_counted", not_counted, "left_out", (json_int_t) c->n_left_out, "skipped",
                         (json_int_t) c->n_skipped);
}
