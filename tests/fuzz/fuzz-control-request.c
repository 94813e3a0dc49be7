/* SPDX-License-Identifier: MIT */
/* A control socket request line (control_request_parse, src/daemon/control-request.c): a command the
 * daemon answers with arguments within their bounds, or an error to answer and nothing set. The error
 * buffer's size comes from the input's last byte, so short buffers truncate the message, never the
 * verdict. */
#include <errno.h>
#include <string.h>

#include "control-request.h"
#include "fuzz.h"

static void check(const ControlRequest *r) {
        const json_t *v;
        size_t i;

        FUZZ_CHECK(r->cmd < _CONTROL_CMD_MAX);
        if (r->cmd == CONTROL_CMD_PENALTY || r->cmd == CONTROL_CMD_LIMIT) {
                FUZZ_CHECK(r->uid < UINT32_MAX);
                FUZZ_CHECK(!r->user || (strlen(r->user) >= 1 && strlen(r->user) <= CONTROL_USER_NAME_MAX));
                FUZZ_CHECK(r->for_sec <= CONTROL_FOR_SEC_MAX);
                FUZZ_CHECK(r->memory_bytes == 0 || r->memory_bytes >= CONTROL_MEMORY_MIN);
        } else
                FUZZ_CHECK(!r->user && r->uid == 0);
        if (r->cmd == CONTROL_CMD_PENALTY) {
                FUZZ_CHECK(r->cpu_pct == 0 && !r->clear);
                FUZZ_CHECK(r->on || (r->for_sec == 0 && r->memory_bytes == 0 && !r->has_mode));
                FUZZ_CHECK(r->memory_bytes <= CONTROL_MEMORY_MAX);
        }
        if (r->cmd == CONTROL_CMD_LIMIT) {
                FUZZ_CHECK(!r->on && r->cpu_pct <= CONTROL_CPU_PCT_MAX);
                FUZZ_CHECK(r->clear ? r->cpu_pct == 0 && r->memory_bytes == 0 && r->for_sec == 0 :
                                      r->cpu_pct > 0 || r->memory_bytes > 0);
        }
        if (r->cmd == CONTROL_CMD_ACCOUNT)
                FUZZ_CHECK(r->seconds >= 1 && r->seconds <= CONTROL_ACCOUNT_SECONDS_MAX);
        else
                FUZZ_CHECK(r->seconds == 0);
        if (r->cmd != CONTROL_CMD_EXEC_ARGS) {
                FUZZ_CHECK(!r->names);
                return;
        }
        FUZZ_CHECK(json_is_array(r->names));
        FUZZ_CHECK(json_array_size(r->names) >= 1 && json_array_size(r->names) <= CONTROL_NAMES_MAX);
        json_array_foreach(r->names, i, v)
                FUZZ_CHECK(json_is_string(v) && json_string_length(v) <= CONTROL_NAME_LENGTH_MAX &&
                           strlen(json_string_value(v)) == json_string_length(v));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        size_t small = size > 0 ? data[size - 1] % 16 + 1 : 1;
        ControlRequest r = { .cmd = _CONTROL_CMD_MAX }, r2 = { .cmd = _CONTROL_CMD_MAX };
        char error[256], short_error[16];
        int ret, ret2;

        memset(error, 'x', sizeof(error));
        ret = control_request_parse((const char *) data, size, &r, error, sizeof(error));
        FUZZ_CHECK(ret == 0 || ret == -EINVAL);
        if (ret == 0)
                check(&r);
        else
                FUZZ_CHECK(r.cmd == _CONTROL_CMD_MAX && !r.names && error[0] &&
                           strnlen(error, sizeof(error)) < sizeof(error));

        ret2 = control_request_parse((const char *) data, size, &r2, short_error, small);
        FUZZ_CHECK(ret2 == ret && r2.cmd == r.cmd);
        if (ret2 < 0)
                FUZZ_CHECK(strnlen(short_error, small) < small && strncmp(short_error, error, small - 1) == 0);
        if (ret == 0) {
                control_request_done(&r);
                control_request_done(&r2);
                FUZZ_CHECK(!r.names);
        }
        return 0;
}
