/* SPDX-License-Identifier: MIT */
/* A value read back from Redis (record_parse, src/sample/record-parse.c): it is refused with a reason and
 * nothing handed out, or it is accepted and record_write_controllers() of what came out gives the input
 * back byte for byte; read again with that set, the set is shared. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "record-parse.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        SliceSet *set = (SliceSet *) 1, *again_set = NULL;
        SampleValues *values = (SampleValues *) 1, *again_values = NULL;
        RecordLayout *layout = NULL;
        const char *reason = NULL;
        unsigned controllers = 0, again_controllers = 0;
        Buf b = { 0 };
        RecordParser parser = { 0 };
        int r;

        r = record_parse(&parser, text, size, &set, &values, &controllers, &reason);
        FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMEM);
        if (r < 0) {
                FUZZ_CHECK(set == (SliceSet *) 1 && values == (SampleValues *) 1 && controllers == 0);
                FUZZ_CHECK(r != -EBADMSG || (reason && *reason));
                record_parser_done(&parser);
                return 0;
        }
        FUZZ_CHECK(controllers != 0 && (controllers & ~(unsigned) RECORD_ALL) == 0);
        FUZZ_CHECK(record_layout_new(set, &layout) == 0);
        FUZZ_CHECK(record_write_controllers(layout, controllers, values, &b) == 0);
        FUZZ_CHECK(b.size == size && memcmp(b.data, data, size) == 0);

        FUZZ_CHECK(record_parse(&parser, text, size, &again_set, &again_values, &again_controllers, NULL) == 0);
        FUZZ_CHECK(again_set == set && again_controllers == controllers);

        sample_values_free_array(again_values, again_set->n);
        slice_set_unref(again_set);
        sample_values_free_array(values, set->n);
        slice_set_unref(set);
        record_layout_free(layout);
        record_parser_done(&parser);
        buf_done(&b);
        return 0;
}
