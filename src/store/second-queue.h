/* SPDX-License-Identifier: MIT */
/* The seconds the Redis sink has not sent yet, oldest first: which seconds and since when they wait, not
 * their text (the window in RAM holds the values; a second is rendered when it is sent). Bounded: a push
 * onto a full queue drops the oldest. 16 bytes a second whatever the number of groups. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

typedef struct QueuedSecond {
        uint64_t unix_sec;
        usec_t queued_usec; /* when it was handed over (the caller's clock): its age is how long it waited */
} QueuedSecond;

typedef struct SecondQueue {
        QueuedSecond *items; /* a ring of max, the oldest at head */
        size_t max, head, len;
} SecondQueue;

/* -EINVAL for max 0, -ENOMEM. */
int second_queue_init(SecondQueue *q, size_t max);
void second_queue_done(SecondQueue *q);

/* Appends s; on a full queue the oldest is dropped first. Returns 1 when one was dropped, else 0. */
int second_queue_push_back(SecondQueue *q, QueuedSecond s);
/* Puts s back in front (a second that was taken out and not sent after all). On a full queue s itself is
 * the oldest: it is the one dropped, and 1 is returned; else 0. */
int second_queue_push_front(SecondQueue *q, QueuedSecond s);
/* The oldest, or NULL when empty. */
const QueuedSecond *second_queue_front(const SecondQueue *q);
/* Takes the oldest out: false when empty. */
bool second_queue_pop_front(SecondQueue *q, QueuedSecond *ret);
/* Drops from the front the seconds that have waited max_age_usec or longer at now (a clock that went back
 * counts as no wait); returns how many. */
size_t second_queue_drop_aged(SecondQueue *q, usec_t now, usec_t max_age_usec);
/* What the queue holds in memory: its table (fixed at init). */
size_t second_queue_bytes(const SecondQueue *q);
