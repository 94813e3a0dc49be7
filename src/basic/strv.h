/* SPDX-License-Identifier: MIT */
/* NULL-terminated string vectors. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Appends a copy of s; -ENOMEM leaves *l unchanged. */
int strv_extend(char ***l, const char *s);
/* Splits on whitespace; empty input gives an empty vector. */
int strv_split_whitespace(const char *s, char ***ret);
