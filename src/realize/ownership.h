/* SPDX-License-Identifier: MIT */
/* Which units slicekeeper created: one file per unit in <runtime dir>/units/, holding the group path.
 * Written before a unit is created, removed after it is stopped, so a restarted daemon knows its own. */
#pragma once

#include <stdbool.h>

#include "strmap.h"

#define OWNERSHIP_MAX_UNITS 20000

typedef struct Ownership {
        char *dir;
        StrMap units; /* unit name → group path; owns the names */
        /* The records in load/add order: names[i] is units' key, paths[i] its value (owned here). */
        char **names, **paths;
        size_t n, cap;
} Ownership;

/* Loads the records in `dir` (created when missing). Malformed records are skipped with a warning. */
int ownership_load(Ownership *o, const char *dir);
void ownership_done(Ownership *o);
const char *ownership_get(const Ownership *o, const char *unit);
int ownership_add(Ownership *o, const char *unit, const char *path);
int ownership_remove(Ownership *o, const char *unit);
