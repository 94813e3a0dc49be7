/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "macro.h"
#include "outage.h"

void outage_init(Outage *o) {
        assert(o);

        *o = (Outage) { .state = OUTAGE_STATE_CONNECTING };
}

/* Copies src into dst (size bytes), cut at a UTF-8 character boundary. */
static void copy_cut(char *dst, size_t size, const char *src) {
        size_t n = strlen(src);

        if (n >= size) {
                n = size - 1;
                while (n > 0 && ((unsigned char) src[n] & 0xc0) == 0x80)
                        n--; /* src[n] would start the byte after the cut: do not split its character */
        }
        memcpy(dst, src, n);
        dst[n] = 0;
}

OutageChange outage_down(Outage *o, usec_t now_usec, const char *cause) {
        OutageState was = o->state;

        assert(o);

        if (isempty(cause))
                cause = "unknown cause";
        if (was == OUTAGE_STATE_DOWN) {
                char cut[OUTAGE_CAUSE_MAX];

                copy_cut(cut, sizeof(cut), cause);
                if (streq(cut, o->cause))
                        return OUTAGE_UNCHANGED;
                memcpy(o->cause, cut, sizeof(cut));
                return OUTAGE_CAUSE_CHANGED;
        }
        o->state = OUTAGE_STATE_DOWN;
        o->since_usec = now_usec;
        o->n_outages++;
        copy_cut(o->cause, sizeof(o->cause), cause);
        return OUTAGE_BEGAN;
}

OutageChange outage_up(Outage *o, usec_t now_usec) {
        OutageState was = o->state;

        assert(o);

        o->state = OUTAGE_STATE_UP;
        if (was == OUTAGE_STATE_UP)
                return OUTAGE_UNCHANGED;
        if (was == OUTAGE_STATE_CONNECTING)
                return OUTAGE_FIRST_UP;
        o->have_last = true;
        o->last_since_usec = o->since_usec;
        o->last_until_usec = MAX(now_usec, o->since_usec); /* a clock stepped back gives 0, not a wrap */
        memcpy(o->last_cause, o->cause, sizeof(o->cause));
        o->since_usec = 0;
        o->cause[0] = 0;
        return OUTAGE_ENDED;
}

int outage_log_level(OutageChange c) {
        switch (c) {
        case OUTAGE_BEGAN:
                return LOG_WARNING;
        case OUTAGE_ENDED:
        case OUTAGE_FIRST_UP:
                return LOG_INFO;
        default:
                return LOG_DEBUG;
        }
}

void outage_message(const Outage *o, OutageChange c, const char *name, const char *then, char *buf, size_t size) {
        char since[32], span[32];

        assert(o);
        assert(buf || size == 0);

        switch (c) {
        case OUTAGE_BEGAN:
                snprintf(buf, size, "%s down: %s%s%s.", name, o->cause, isempty(then) ? "" : "; ",
                         isempty(then) ? "" : then);
                return;
        case OUTAGE_CAUSE_CHANGED:
                snprintf(buf, size, "%s still down, now: %s.", name, o->cause);
                return;
        case OUTAGE_ENDED:
                outage_format_time(o->last_since_usec, /* with_date= */ false, since, sizeof(since));
                outage_format_timespan(o->last_until_usec - o->last_since_usec, span, sizeof(span));
                snprintf(buf, size, "%s back after %s (down since %s: %s).", name, span, since, o->last_cause);
                return;
        case OUTAGE_FIRST_UP:
                snprintf(buf, size, "%s up.", name);
                return;
        default:
                snprintf(buf, size, "%s %s.", name, outage_state_to_string(o->state));
                return;
        }
}

void outage_status_text(const Outage *o, const char *name, char *buf, size_t size) {
        char since[32];

        assert(o);
        assert(buf || size == 0);

        if (o->state != OUTAGE_STATE_DOWN) {
                if (size > 0)
                        buf[0] = 0;
                return;
        }
        outage_format_time(o->since_usec, /* with_date= */ false, since, sizeof(since));
        snprintf(buf, size, "%s down since %s: %s", name, since, o->cause);
}

int outage_to_json(const Outage *o, json_t *obj) {
        int r = 0;

        assert(o);
        assert(obj);

        /* json_object_set_new() drops its value when it fails, and fails for a NULL one (out of memory). */
        r |= json_object_set_new(obj, "state", json_string(outage_state_to_string(o->state)));
        r |= json_object_set_new(obj, "outage", o->state != OUTAGE_STATE_DOWN ? json_null() :
                                 json_pack("{s:I, s:s}", "since_usec", (json_int_t) o->since_usec, "cause", o->cause));
        r |= json_object_set_new(obj, "last_outage", !o->have_last ? json_null() :
                                 json_pack("{s:I, s:I, s:s}", "since_usec", (json_int_t) o->last_since_usec,
                                           "until_usec", (json_int_t) o->last_until_usec, "cause", o->last_cause));
        r |= json_object_set_new(obj, "outages", json_integer((json_int_t) o->n_outages));
        return r < 0 ? -ENOMEM : 0;
}

const char *outage_state_to_string(OutageState s) {
        static const char *const table[_OUTAGE_STATE_MAX] = {
                [OUTAGE_STATE_CONNECTING] = "connecting",
                [OUTAGE_STATE_UP] = "up",
                [OUTAGE_STATE_DOWN] = "down",
        };
        return s >= 0 && s < _OUTAGE_STATE_MAX ? table[s] : "?";
}

void outage_format_timespan(usec_t span, char *buf, size_t size) {
        uint64_t sec = span / USEC_PER_SEC;

        if (span < USEC_PER_SEC)
                snprintf(buf, size, "%" PRIu64 "ms", span / USEC_PER_MSEC);
        else if (span < 10 * USEC_PER_SEC)
                snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "s", sec, span % USEC_PER_SEC / (USEC_PER_SEC / 10));
        else if (sec < 60)
                snprintf(buf, size, "%" PRIu64 "s", sec);
        else if (sec < 3600)
                snprintf(buf, size, "%" PRIu64 "min %" PRIu64 "s", sec / 60, sec % 60);
        else if (sec < 86400)
                snprintf(buf, size, "%" PRIu64 "h %" PRIu64 "min", sec / 3600, sec % 3600 / 60);
        else
                snprintf(buf, size, "%" PRIu64 "d %" PRIu64 "h", sec / 86400, sec % 86400 / 3600);
}

void outage_format_time(usec_t realtime_usec, bool with_date, char *buf, size_t size) {
        time_t t = (time_t) (realtime_usec / USEC_PER_SEC);
        struct tm tm;

        if (size == 0)
                return;
        if (!localtime_r(&t, &tm) ||
            strftime(buf, size, with_date ? "%Y-%m-%d %H:%M:%S %Z" : "%H:%M:%S", &tm) == 0)
                snprintf(buf, size, "@%" PRIu64, realtime_usec / USEC_PER_SEC);
}
