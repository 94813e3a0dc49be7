/* SPDX-License-Identifier: MIT */
/* The refused pid files of one group, bounded (pure): each distinct cause is logged once; at most
 * REFUSALS_GROUP_MAX are kept per group and REFUSALS_TOTAL_MAX over all groups (the rest are counted per
 * pass); a record whose file was not seen in a pass (gone, renamed, no longer matched) is dropped at its end. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "time-util.h"

#define REFUSALS_GROUP_MAX 64
#define REFUSALS_TOTAL_MAX 1024

typedef struct Refusal {
        char *file, *reason;
        usec_t usec;        /* when this cause was first seen */
} Refusal;

typedef struct RefusalList {
        Refusal *items;         /* refused in the pass under way (or the last one, between passes) */
        size_t n;
        Refusal *prev;          /* during a pass: the last pass's records not seen again yet */
        size_t n_prev;
        ssize_t last;           /* the most recent refusal in items, -1: none */
        size_t unlisted;        /* refused in the pass under way but over a bound: counted only */
        size_t last_unlisted;   /* the same for the last finished pass */
} RefusalList;

typedef enum RefusalNote {
        REFUSAL_NEW,      /* recorded, or its cause changed: log it */
        REFUSAL_KNOWN,    /* the same cause as before: logged already */
        REFUSAL_UNLISTED, /* over a bound (or out of memory): counted, not logged one by one */
} RefusalNote;

#define REFUSAL_LIST_INIT ((RefusalList) { .last = -1 })

/* `total` counts the records of every group, for the global bound. A pass's records replace the last
 * pass's, so files renamed between passes take the places of the old names in the same pass. */
RefusalNote refusal_list_note(RefusalList *l, size_t *total, const char *file, const char *reason, usec_t now);
/* The file is usable: its record goes. True when there was one (worth a "usable again" line). */
bool refusal_list_accept(RefusalList *l, size_t *total, const char *file);
void refusal_list_pass_begin(RefusalList *l, size_t *total);
/* Drops the last pass's records not seen again in this one; returns 1 when unlisted refusals began with
 * this pass, -1 when they ended, 0 otherwise. */
int refusal_list_pass_end(RefusalList *l, size_t *total);
void refusal_list_done(RefusalList *l, size_t *total);
