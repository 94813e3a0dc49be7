/* SPDX-License-Identifier: MIT */
/* How many connections each peer address holds, and whether it may open one more (the web server's
 * [Web] MaxConnectionsPerAddress=). Pure: addresses are strings the glue formats. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "strmap.h"

typedef struct ConnLimitEntry ConnLimitEntry;

typedef struct ConnLimit {
        StrMap counts;          /* address → its entry (which holds the key) */
        ConnLimitEntry *entries; /* every entry, to free them */
        size_t per_address_max; /* 0: no limit */
} ConnLimit;

void conn_limit_init(ConnLimit *l, size_t per_address_max);
void conn_limit_done(ConnLimit *l);

/* Whether address holds per_address_max connections already: a new one is to be refused. */
bool conn_limit_full(const ConnLimit *l, const char *address);
/* One more connection of address (counted even over the limit: the glue asks conn_limit_full() before it
 * accepts one), and one fewer once it has gone. */
int conn_limit_add(ConnLimit *l, const char *address);
void conn_limit_remove(ConnLimit *l, const char *address);
size_t conn_limit_count(const ConnLimit *l, const char *address);
/* How many addresses hold a connection. */
size_t conn_limit_addresses(const ConnLimit *l);
