/* SPDX-License-Identifier: MIT */
/* The websocket commands (src/web/api.c): any client text against a window of a few seconds, the last good
 * tree as the manager calls it, a few kept events. Every request gets exactly one answer, a JSON
 * object, or a show_account stream that ends, in bounded steps, in a JSON object; an `events` subscription
 * comes with a filter that names known kinds only. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "fleet-account.h"
#include "fleet-query.h"
#include "fuzz.h"
#include "ring.h"

#define NOW_SEC 1000
#define WINDOW 16

static Ring ring;
static EventRing events;
static json_t *conf;

static void check_object(const char *text, size_t size) {
        json_t *o = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);

        FUZZ_CHECK(o && json_is_object(o));
        json_decref(o);
}

/* The answer in the parts the server would send: it ends, and is one JSON object. */
static void check_stream(AccountStream *stream) {
        Buf out = { 0 };
        unsigned steps = 0;
        int r;

        do {
                r = account_stream_next(stream, &ring, &out, 1024);
                FUZZ_CHECK(r >= 0);
                FUZZ_CHECK(++steps <= API_SLOTS_MAX + 1);
        } while (r > 0);
        check_object((const char *) out.data, out.size);
        buf_done(&out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
        static const char *const paths[] = { "", "web", "web/static" }, *const units[] = { "-.slice", "web.slice",
                                                                                            "web-static.slice" };
        SliceSet *set = slice_set_new(3);

        FUZZ_CHECK(set && ring_init(&ring, WINDOW) == 0);
        for (size_t i = 0; i < set->n; i++) {
                set->paths[i] = strdup(paths[i]);
                set->units[i] = strdup(units[i]);
        }
        /* The last seconds but one, so a window can hold missing seconds. */
        for (uint64_t sec = NOW_SEC - WINDOW + 2; sec <= NOW_SEC; sec++) {
                SampleValues *v = calloc(set->n, sizeof(SampleValues));

                FUZZ_CHECK(v);
                for (size_t i = 0; i < set->n; i++) {
                        v[i].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY | SAMPLE_HAVE_PIDS | SAMPLE_HAVE_PRESSURE;
                        v[i].pressure_have = 0x3f;
                        v[i].cpu_usage_nsec = sec * 1000 + i;
                        v[i].memory_bytes = 4096 * (i + 1);
                        v[i].pids = i + 1;
                        v[i].pressure_usec[PRESSURE_IO_FULL] = sec;
                }
                if (sec == NOW_SEC - 3)
                        free(v); /* a gap */
                else
                        FUZZ_CHECK(ring_put(&ring, sec, set, v) == 0);
        }
        slice_set_unref(set);
        /* events 1..12 in a ring of 8: kinds, uids and slices to filter by, and some gone */
        FUZZ_CHECK(event_ring_init(&events, 8) == 0);
        for (uint64_t seq = 1; seq <= 12; seq++) {
                char text[32];

                snprintf(text, sizeof(text), "{\"seq\":%" PRIu64 "}", seq);
                FUZZ_CHECK(event_ring_push(&events, (EventKind) (seq % _EVENT_KIND_MAX), seq % 3 != 0,
                                           (uint32_t) (1000 + seq % 2), seq % 2 ? "user-1001.slice" : NULL, text,
                                           strlen(text)) == 0);
        }
        conf = json_pack("{s:{s:{s:i}}}", "slices", "web", "cpu_weight", 200);
        FUZZ_CHECK(conf);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const ApiContext ctx = {
                .ring = &ring,
                .now_sec = NOW_SEC,
                .conf = size % 2 ? conf : NULL,
                .conf_version = 7,
                .events = size % 3 ? &events : NULL,
        };
        EventFilter filter;
        AccountStream *stream = (AccountStream *) 1;
        ApiAction action = (ApiAction) -1;
        char *answer;

        answer = api_handle(&ctx, (const char *) data, size, &action, &stream, &filter);
        FUZZ_CHECK(action == API_ACTION_NONE || action == API_ACTION_SUBSCRIBE || action == API_ACTION_UNSUBSCRIBE ||
                   action == API_ACTION_STATUS || action == API_ACTION_EVENTS ||
                   action == API_ACTION_UNSUBSCRIBE_EVENTS || action == API_ACTION_FLEET_ACCOUNT);
        if (action == API_ACTION_EVENTS) {
                FUZZ_CHECK(answer && !stream);
                FUZZ_CHECK((filter.kinds & ~((1u << _EVENT_KIND_MAX) - 1)) == 0);
                FUZZ_CHECK(strlen(filter.slice) < sizeof(filter.slice));
        }
        if (action == API_ACTION_STATUS) { /* made by the caller */
                FUZZ_CHECK(!answer && !stream);
                return 0;
        }
        if (action == API_ACTION_FLEET_ACCOUNT) { /* made by the caller, from these arguments */
                char *group = NULL, error[256];
                unsigned seconds = 0;

                FUZZ_CHECK(!answer && !stream);
                if (fleet_account_parse((const char *) data, size, &group, &seconds, error, sizeof(error)) == 0) {
                        FUZZ_CHECK(seconds >= 1 && seconds <= FLEET_SECONDS_MAX);
                        FUZZ_CHECK(!group || strlen(group) <= FLEET_GROUP_MAX);
                        free(group);
                }
                return 0;
        }
        FUZZ_CHECK(!answer != !stream); /* one or the other */
        if (answer) {
                check_object(answer, strlen(answer));
                free(answer);
                return 0;
        }

        FUZZ_CHECK(action == API_ACTION_NONE);
        check_stream(stream);
        account_stream_free(stream);
        return 0;
}
