/* SPDX-License-Identifier: MIT */
/* users.d: the admin's per-user overrides of the fair-share policy (/etc/slicekeeper/users.d/NAME.conf), parsed
 * and resolved for one user. Pure except user_overrides_load_dir's bounded reads; names are not looked up
 * here (the glue resolves UIDs and groups through NSS, off the per-second path). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define USER_OVERRIDES_FILE_MAX_BYTES (256 * 1024)
#define USER_OVERRIDES_MAX_FILES 256
#define USER_OVERRIDES_MAX_ENTRIES 4096 /* sections, in all files together */
#define USER_OVERRIDES_LINE_MAX 1024
#define USER_OVERRIDES_NAME_MAX 256     /* user and group names (NSS allows long LDAP/SSSD names) */
#define USER_OVERRIDES_CPU_MAX_PCT 819200 /* systemd's CPUQuota= limit: 8192 cores */

/* A memory amount as the admin writes it: bytes with K/M/G/T ("4G"; UINT64_MAX for "infinity"), or a
 * percentage of RAM ("25%", 1..100; bytes 0). The RAM is the daemon's to read. Both 0: unset. */
typedef struct MemoryAmount {
        uint64_t bytes;
        unsigned percent_of_ram;
} MemoryAmount;

/* -EINVAL for anything else, 0 bytes and 0% included. Shared with [FairShare] MemoryLimit=. */
int memory_amount_parse(const char *s, MemoryAmount *ret);

/* Which users a section names. The order is the precedence: a later kind wins over an earlier one. */
typedef enum UserOverrideKind {
        USER_OVERRIDE_GROUP, /* [@students]: every member, primary or supplementary */
        USER_OVERRIDE_NAME,  /* [alice] */
        USER_OVERRIDE_UID,   /* [1001] */
} UserOverrideKind;

typedef struct UserOverride {
        UserOverrideKind kind;
        uint32_t uid;    /* USER_OVERRIDE_UID */
        char *name;      /* user or group name, without '@'; NULL for a UID */
        bool has_cpu, has_memory, has_exempt;
        double cpu_cores;           /* CPUQuota=150% → 1.5 */
        MemoryAmount memory;        /* MemoryMax= */
        bool exempt;
        char *file;      /* where the section starts, for status */
        unsigned line;
} UserOverride;

/* In file name order, then file order. */
typedef struct UserOverrides {
        UserOverride *entries;
        size_t n;
} UserOverrides;

void user_overrides_done(UserOverrides *o);

/* Parses one file's contents (`path` only names it in errors) and appends its sections to o. All or
 * nothing: on error o is as it was and `error` is "PATH:LINE: message". */
int user_overrides_parse(UserOverrides *o, const char *path, const char *data, size_t size, char *error,
                         size_t error_size);

/* Every "*.conf" in dir in name order, into a new set: on error *ret is untouched (the caller keeps the
 * previous good set). A missing directory is an empty set. */
int user_overrides_load_dir(const char *dir, UserOverrides *ret, char *error, size_t error_size);

/* What applies to one user, key by key: the most specific section that sets the key ([UID] over [name]
 * over [@group]); between sections of the same kind, the later one (file name order, then line). Exempt=yes
 * means the policy leaves the user alone whatever CPUQuota=/MemoryMax= say. */
typedef struct UserOverrideResult {
        const UserOverride *cpu, *memory, *exempt; /* the deciding sections, NULL: none */
} UserOverrideResult;

/* name and groups (NULL-terminated group names) as NSS gave them; either may be NULL. */
void user_overrides_resolve(const UserOverrides *o, uint32_t uid, const char *name, char *const *groups,
                            UserOverrideResult *ret);

/* "[alice]", "[1001]", "[@students]" with its file and line, for status and logs. */
int user_override_describe(const UserOverride *e, char *buf, size_t size);
