/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event-line.h"
#include "macro.h"

void event_id_from_bytes(const uint8_t bytes[EVENT_ID_LEN], char ret[EVENT_ID_LEN + 1]) {
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

        for (size_t i = 0; i < EVENT_ID_LEN; i++)
                ret[i] = alphabet[bytes[i] % (sizeof(alphabet) - 1)];
        ret[EVENT_ID_LEN] = 0;
}

int event_line_format_float(double v, char *buf, size_t size) {
        char digits[32], out[64], *o = out;
        int precision, exp, n_digits = 0, n;
        const char *e;

        assert(buf);

        if (!isfinite(v))
                v = 0;
        if (v == 0) {
                n = snprintf(buf, size, "%s", signbit(v) ? "-0.0" : "0.0");
                return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
        }
        /* the shortest %e that reads back as v */
        for (precision = 0; precision < 17; precision++) {
                snprintf(digits, sizeof(digits), "%.*e", precision, v);
                if (strtod(digits, NULL) == v)
                        break;
        }
        e = strchr(digits, 'e');
        assert(e);
        exp = atoi(e + 1);
        if (v < 0)
                *o++ = '-';
        /* the significant digits alone */
        char sig[24];
        for (const char *p = digits; p < e; p++)
                if (*p >= '0' && *p <= '9')
                        sig[n_digits++] = *p;
        sig[n_digits] = 0;
        if (exp < -4 || exp >= 16) {
                *o++ = sig[0];
                if (n_digits > 1) {
                        *o++ = '.';
                        memcpy(o, sig + 1, (size_t) n_digits - 1);
                        o += n_digits - 1;
                }
                o += sprintf(o, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
        } else if (exp < 0) {
                o += sprintf(o, "0.");
                for (int i = -1; i > exp; i--)
                        *o++ = '0';
                memcpy(o, sig, (size_t) n_digits);
                o += n_digits;
        } else {
                for (int i = 0; i <= exp; i++)
                        *o++ = i < n_digits ? sig[i] : '0';
                *o++ = '.';
                if (n_digits > exp + 1) {
                        memcpy(o, sig + exp + 1, (size_t) (n_digits - exp - 1));
                        o += n_digits - exp - 1;
                } else
                        *o++ = '0';
        }
        *o = 0;
        n = snprintf(buf, size, "%s", out);
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}

/* A JSON string as json.dumps(ensure_ascii=True) writes it; bytes that are not UTF-8 become U+FFFD. */
static void put_string(FILE *f, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        fputc('"', f);
        while (*p) {
                unsigned c = *p, need = 0;
                uint32_t cp;

                if (c < 0x80) {
                        switch (c) {
                        case '"': fputs("\\\"", f); break;
                        case '\\': fputs("\\\\", f); break;
                        case '\n': fputs("\\n", f); break;
                        case '\r': fputs("\\r", f); break;
                        case '\t': fputs("\\t", f); break;
                        case '\b': fputs("\\b", f); break;
                        case '\f': fputs("\\f", f); break;
                        default:
                                if (c < 0x20 || c == 0x7f)
                                        fprintf(f, "\\u%04x", c);
                                else
                                        fputc((int) c, f);
                        }
                        p++;
                        continue;
                }
                if (c >= 0xc2 && c <= 0xdf)
                        need = 1, cp = c & 0x1f;
                else if (c >= 0xe0 && c <= 0xef)
                        need = 2, cp = c & 0x0f;
                else if (c >= 0xf0 && c <= 0xf4)
                        need = 3, cp = c & 0x07;
                else {
                        fputs("\\ufffd", f);
                        p++;
                        continue;
                }
                unsigned i;
                for (i = 1; i <= need; i++) {
                        if ((p[i] & 0xc0) != 0x80)
                                break;
                        cp = cp << 6 | (p[i] & 0x3f);
                }
                /* short, overlong, surrogate or past U+10FFFF: one replacement for the lead byte */
                if (i <= need || (need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
                    (cp >= 0xd800 && cp <= 0xdfff)) {
                        fputs("\\ufffd", f);
                        p++;
                        continue;
                }
                if (cp >= 0x10000)
                        fprintf(f, "\\u%04x\\u%04x", 0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
                else
                        fprintf(f, "\\u%04x", cp);
                p += need + 1;
        }
        fputc('"', f);
}

static int format_time(time_t t, char buf[static 32]) {
        struct tm tm;

        if (!localtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
                return -EINVAL;
        return strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm) > 0 ? 0 : -EINVAL;
}

static int finish(FILE *f, char **buf, size_t *len, char **ret) {
        fputs("}\n", f);
        if (fclose(f) != 0) {
                free(*buf);
                return -ENOMEM;
        }
        *ret = *buf;
        return 0;
}

int event_line_throttle(const ThrottleEventLine *e, char **ret) {
        char start[32], end[32] = "", cpu[64];
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        assert(e);
        assert(ret);

        if (!e->id || !e->cgroup || !e->username || !e->node || format_time(e->start, start) < 0 ||
            (e->ended && format_time(e->end, end) < 0) || event_line_format_float(e->cpu_pct, cpu, sizeof(cpu)) < 0)
                return -EINVAL;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fputs("{\"TYPE\": \"throttleCPU\", \"ID\": ", f);
        put_string(f, e->id);
        fputs(", \"CGROUP\": ", f);
        put_string(f, e->cgroup);
        fputs(", \"USERNAME\": ", f);
        put_string(f, e->username);
        fprintf(f, ", \"START_TIME\": \"%s\", \"END_TIME\": \"%s\", \"CPU\": %s, \"NODE\": ", start, end, cpu);
        put_string(f, e->node);
        return finish(f, &buf, &len, ret);
}

int event_line_oom(const OomEventLine *e, char **ret) {
        char stamp[32];
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        assert(e);
        assert(ret);

        if (!e->id || !e->uname || !e->node || format_time(e->timestamp, stamp) < 0)
                return -EINVAL;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fputs("{\"TYPE\": \"OOM\", \"ID\": ", f);
        put_string(f, e->id);
        fprintf(f, ", \"TIMESTAMP\": \"%s\", \"UID\": \"%u\", \"UNAME\": ", stamp, e->uid);
        put_string(f, e->uname);
        fputs(", \"NODE\": ", f);
        put_string(f, e->node);
        if (e->cgroup) {
                fputs(", \"CGROUP\": ", f);
                put_string(f, e->cgroup);
        }
        if (e->pid > 0)
                fprintf(f, ", \"PID\": %u", e->pid);
        if (e->comm) {
                fputs(", \"COMM\": ", f);
                put_string(f, e->comm);
        }
        if (e->slice) {
                fputs(", \"SLICE\": ", f);
                put_string(f, e->slice);
        }
        if (e->task_memcg) {
                fputs(", \"TASK_MEMCG\": ", f);
                put_string(f, e->task_memcg);
        }
        if (e->oom_memcg) {
                fputs(", \"OOM_MEMCG\": ", f);
                put_string(f, e->oom_memcg);
        }
        if (e->has_oom_kill)
                fprintf(f, ", \"OOM_KILL\": %" PRIu64, e->oom_kill);
        if (e->killed > 0)
                fprintf(f, ", \"KILLED\": %" PRIu64, e->killed);
        if (e->has_memory && e->memory_max != UINT64_MAX)
                fprintf(f, ", \"MEMORY_MAX\": %" PRIu64, e->memory_max);
        if (e->has_memory && e->memory_current != UINT64_MAX)
                fprintf(f, ", \"MEMORY_CURRENT\": %" PRIu64, e->memory_current);
        if (e->has_latency && e->latency_ms >= 0) {
                char num[64];

                if (event_line_format_float(e->latency_ms, num, sizeof(num)) >= 0)
                        fprintf(f, ", \"LATENCY_MS\": %s", num);
        }
        return finish(f, &buf, &len, ret);
}

int event_line_user(const UserEventLine *e, char **ret) {
        char stamp[32], until[32], cpu[64];
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        assert(e);
        assert(ret);

        if (!e->id || !e->uname || !e->node || !e->action || format_time(e->timestamp, stamp) < 0 ||
            (e->has_until && format_time(e->until, until) < 0) ||
            event_line_format_float(e->cpu_cores, cpu, sizeof(cpu)) < 0 ||
            (e->kind != USER_EVENT_PENALTY && e->kind != USER_EVENT_LIMIT))
                return -EINVAL;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "{\"TYPE\": \"%s\", \"ID\": ", e->kind == USER_EVENT_PENALTY ? "penaltyBox" : "limit");
        put_string(f, e->id);
        fprintf(f, ", \"TIMESTAMP\": \"%s\", \"UID\": \"%u\", \"UNAME\": ", stamp, e->uid);
        put_string(f, e->uname);
        fputs(", \"NODE\": ", f);
        put_string(f, e->node);
        fputs(", \"ACTION\": ", f);
        put_string(f, e->action);
        if (e->mode) {
                fputs(", \"MODE\": ", f);
                put_string(f, e->mode);
        }
        if (e->cpu_cores > 0)
                fprintf(f, ", \"CPU\": %s", cpu);
        /* past 2^63 - 1 readers (jansson, JavaScript) lose or refuse the number; no memory is that large */
        if (e->memory_bytes >= (uint64_t) INT64_MAX)
                fputs(", \"MEMORY\": \"infinity\"", f);
        else if (e->memory_bytes > 0)
                fprintf(f, ", \"MEMORY\": %llu", (unsigned long long) e->memory_bytes);
        if (e->has_until)
                fprintf(f, ", \"UNTIL\": \"%s\"", until);
        if (e->source) {
                fputs(", \"SOURCE\": ", f);
                put_string(f, e->source);
        }
        return finish(f, &buf, &len, ret);
}

int event_line_json(const char *type, time_t timestamp, const char *node, const char *object, char **ret) {
        char stamp[32];
        size_t n;
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        assert(ret);

        if (!type || !node || !object || format_time(timestamp, stamp) < 0)
                return -EINVAL;
        n = strlen(object);
        if (n < 2 || object[0] != '{' || object[n - 1] != '}')
                return -EINVAL;
        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fputs("{\"TYPE\": ", f);
        put_string(f, type);
        fprintf(f, ", \"TIMESTAMP\": \"%s\", \"NODE\": ", stamp);
        put_string(f, node);
        /* the object's members, as they are ("{}": none) */
        if (n > 2) {
                fputs(", ", f);
                fwrite(object + 1, 1, n - 2, f);
        }
        return finish(f, &buf, &len, ret);
}
