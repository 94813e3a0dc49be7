/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn-limit.h"
#include "macro.h"

struct ConnLimitEntry {
        ConnLimitEntry *prev, *next;
        size_t n;
        char address[]; /* the map's key */
};

void conn_limit_init(ConnLimit *l, size_t per_address_max) {
        assert(l);

        *l = (ConnLimit) { .per_address_max = per_address_max };
}

void conn_limit_done(ConnLimit *l) {
        assert(l);

        while (l->entries) {
                ConnLimitEntry *next = l->entries->next;

                free(l->entries);
                l->entries = next;
        }
        strmap_done(&l->counts);
}

size_t conn_limit_count(const ConnLimit *l, const char *address) {
        const ConnLimitEntry *e;

        assert(l);
        assert(address);

        e = strmap_get(&l->counts, address);
        return e ? e->n : 0;
}

bool conn_limit_full(const ConnLimit *l, const char *address) {
        return l->per_address_max > 0 && conn_limit_count(l, address) >= l->per_address_max;
}

int conn_limit_add(ConnLimit *l, const char *address) {
        ConnLimitEntry *e;
        size_t size;
        int r;

        assert(l);
        assert(address);

        e = strmap_get(&l->counts, address);
        if (e) {
                e->n++;
                return 0;
        }
        size = strlen(address) + 1;
        e = malloc(sizeof(ConnLimitEntry) + size);
        if (!e)
                return -ENOMEM;
        e->n = 1;
        memcpy(e->address, address, size);
        r = strmap_put(&l->counts, e->address, e);
        if (r < 0) {
                free(e);
                return r;
        }
        e->prev = NULL;
        e->next = l->entries;
        if (e->next)
                e->next->prev = e;
        l->entries = e;
        return 0;
}

void conn_limit_remove(ConnLimit *l, const char *address) {
        ConnLimitEntry *e;

        assert(l);
        assert(address);

        e = strmap_get(&l->counts, address);
        if (!e || --e->n > 0)
                return;
        strmap_remove(&l->counts, address);
        if (e->prev)
                e->prev->next = e->next;
        else
                l->entries = e->next;
        if (e->next)
                e->next->prev = e->prev;
        free(e);
}

size_t conn_limit_addresses(const ConnLimit *l) {
        assert(l);
        return l->counts.n;
}
