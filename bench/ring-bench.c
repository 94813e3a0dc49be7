/* SPDX-License-Identifier: MIT */
/* In-process cost of the window and of show_account, without sockets: N slices (default 1000) sampled
 * for 300 s into the compact ring, then the nr_slot=300 answer made in WEB_STREAM_FRAGMENT parts as the
 * server makes it. Prints bytes held and CPU time per step. Run under valgrind --tool=callgrind for
 * instruction counts. The values imitate busy slices: every counter moves every second. `ring-bench N U`: the
 * last U of the N slices are users ([FairShare] Enable=yes: records carry them under "users"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record-parse.h"
#include "record.h"
#include "ring.h"
#include "show-account.h"

static double cpu_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        size_t n = argc > 1 ? (size_t) atol(argv[1]) : 1000, window = 300, held = 0, total = 0, parts = 0;
        size_t n_users = argc > 2 ? (size_t) atol(argv[2]) : 0;
        SliceSet *set = slice_set_new(n);
        AccountStream *stream = NULL;
        Ring ring;
        Buf out = { 0 };
        double t0, t_put, t_answer;
        int more;

        if (!set || n_users >= n || ring_init(&ring, window) < 0)
                return 1;
        set->n_groups = n - n_users;
        for (size_t i = 0; i < n; i++) {
                if (i >= set->n_groups) {
                        /* a user slice: its UID (65535 is not one), unit and name as the sampler has them */
                        size_t uid = 1000 + i + (1000 + i >= 65535);

                        if (asprintf(&set->paths[i], "%zu", uid) < 0 ||
                            asprintf(&set->units[i], "user-%zu.slice", uid) < 0 ||
                            asprintf(&set->user_names[i], "user%zu", i) < 0)
                                return 1;
                        continue;
                }
                /* Slice 0 is the root: no path, the parent slice. */
                char name[32] = "";

                if (i > 0)
                        snprintf(name, sizeof(name), "g%04zu", i - 1);
                if (asprintf(&set->paths[i], "%s", name) < 0 ||
                    asprintf(&set->units[i], "bench%s%s.slice", i ? "-" : "", name) < 0)
                        return 1;
        }
        t0 = cpu_sec();
        for (uint64_t sec = 1; sec <= window; sec++) {
                SampleValues *v = calloc(n, sizeof(SampleValues));

                for (size_t i = 0; v && i < n; i++) {
                        v[i].have = SAMPLE_HAVE_CPU | SAMPLE_HAVE_MEMORY | SAMPLE_HAVE_PIDS | SAMPLE_HAVE_IO |
                                    SAMPLE_HAVE_PRESSURE;
                        v[i].pressure_have = 0x3f;
                        v[i].cpu_usage_nsec = 1000000000u * i + sec * 3000000u;
                        v[i].memory_bytes = (8u << 20) + sec * 4096;
                        v[i].pids = 12;
                        for (int k = 0; k < _PRESSURE_MAX; k++)
                                v[i].pressure_usec[k] = 1000u * i + sec * 250;
                }
                if (!v || ring_put(&ring, 1000000 + sec, set, v) < 0)
                        return 1;
        }
        t_put = cpu_sec() - t0;
        for (size_t i = 0; i < ring.n_slots; i++)
                held += ring.slots[i].size;

        t0 = cpu_sec();
        if (account_stream_new(1000001, 1000000 + window, &stream) < 0)
                return 1;
        do {
                out.size = 0;
                more = account_stream_next(stream, &ring, &out, 256 * 1024);
                total += out.size;
                parts++;
        } while (more > 0);
        t_answer = cpu_sec() - t0;
        if (more < 0)
                return 1;
        printf("%zu slices (%zu of them users), %zu s: ring holds %zu bytes (%.1f per slice-second), puts %.2f ms "
               "per second\n", n, n_users, window, held, (double) held / (double) (n * window),
               t_put * 1e3 / (double) window);
        printf("show_account nr_slot=%zu: %zu bytes in %zu parts, %.1f ms CPU (%.0f MB/s)\n", window, total, parts,
               t_answer * 1e3, (double) total / t_answer / 1e6);

        /* Read back after a restart (redis-fill.c): each second's record parsed and filled into a new ring. */
        {
                RecordLayout *layout = NULL;
                RecordParser parser = { 0 };
                RingReader rd = { 0 };
                size_t bytes = 0;
                double t_back = 0;
                Ring back;

                if (ring_init(&back, window) < 0)
                        return 1;
                for (uint64_t sec = 1000001; sec <= 1000000 + window; sec++) {
                        SampleValues *v = NULL;
                        SliceSet *got = NULL;
                        unsigned mask;

                        out.size = 0;
                        if (ring_read(&ring, sec, &rd) < 0 || record_layout_update(&layout, rd.set) < 0 ||
                            record_write(layout, rd.values, &out) < 0)
                                return 1;
                        bytes += out.size;
                        t0 = cpu_sec();
                        if (record_parse(&parser, (const char *) out.data, out.size, &got, &v, &mask, NULL) < 0 ||
                            ring_fill(&back, sec, got, v) < 0)
                                return 1;
                        slice_set_unref(got);
                        t_back += cpu_sec() - t0;
                }
                printf("read back from Redis: %.2f ms per record of %zu bytes (%.0f MB/s): a 4 MiB batch %.0f ms\n",
                       t_back * 1e3 / (double) window, bytes / window, (double) bytes / t_back / 1e6,
                       4.0 * 1024 * 1024 / ((double) bytes / t_back) * 1e3);
                ring_reader_done(&rd);
                record_layout_free(layout);
                record_parser_done(&parser);
                ring_done(&back);
        }
        account_stream_free(stream);
        buf_done(&out);
        ring_done(&ring);
        slice_set_unref(set);
        return 0;
}
