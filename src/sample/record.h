/* SPDX-License-Identifier: MIT */
/* One second of samples as cgrouparch's record: per controller {"value": {...}, "sub_cgroup": {name: ...}},
 * nested as the groups are. Pure. */
#pragma once

#include <jansson.h>

#include "ring.h"

/* {"cpu": {"value": {"usage": ns}, "sub_cgroup": {...}}, "blkio": {"value": {"8:0": {"Read": bytes,
 * "Write": bytes, "ReadOps": n, "WriteOps": n}}, ...}, "memory": {"value": {"usage": bytes}, ...},
 * "pids": {"value": {"current": n}, ...}, "pressure": {"value": {"cpu": {"some": usec, "full": usec},
 * "memory": {...}, "io": {...}}, ...}}. A controller with no value for a group has "value": {}. */
json_t *record_to_json(const RingSlot *slot);
