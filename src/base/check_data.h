/*
 * check_data.h - the one scan that refuses non-finite numbers in the arrays a
 * caller hands to the library (inputs, targets), naming the first bad one.
 */
#ifndef DEVO_CHECK_DATA_H
#define DEVO_CHECK_DATA_H

#include <stddef.h>

#include "devo.h"

/* DEVO_ERR_INVALID_ARGUMENT when a (rows x cols, row-major) holds NaN or +-Inf; the message
 * names fn, the array `what` ("x", "y") and the first bad row and column. One linear pass. */
devo_status devo_check_finite(const float *a, size_t rows, size_t cols, const char *what,
                              const char *fn);

#endif /* DEVO_CHECK_DATA_H */
