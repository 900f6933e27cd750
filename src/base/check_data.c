/*
 * check_data.c - devo_check_finite (see check_data.h). The scan reads the float
 * bits in blocks without branching, so the compiler vectorises it; only a block
 * holding a bad value is scanned again to find its position.
 */
#include "check_data.h"

#include <stdint.h>
#include <string.h>

#include "error.h"

#define DEVO_EXPONENT_BITS 0x7f800000u /* all ones: Inf or NaN */
#define DEVO_SCAN_BLOCK 4096

/* Nonzero when one of count floats is Inf or NaN. */
static int block_has_nonfinite(const float *a, size_t count)
{
    uint32_t any = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, &a[i], sizeof bits);
        any |= (uint32_t)((bits & DEVO_EXPONENT_BITS) == DEVO_EXPONENT_BITS);
    }
    return any != 0;
}

devo_status devo_check_finite(const float *a, size_t rows, size_t cols, const char *what,
                              const char *fn)
{
    size_t total = rows * cols;
    for (size_t first = 0; first < total; first += DEVO_SCAN_BLOCK) {
        size_t count = total - first < DEVO_SCAN_BLOCK ? total - first : DEVO_SCAN_BLOCK;
        if (!block_has_nonfinite(a + first, count)) continue;
        size_t i = first;
        while (!block_has_nonfinite(a + i, 1)) i++;
        return devo_fail(DEVO_ERR_INVALID_ARGUMENT,
                         "%s: %s holds %g at row %zu, column %zu; every value must be finite", fn,
                         what, (double)a[i], i / cols, i % cols);
    }
    return DEVO_OK;
}
