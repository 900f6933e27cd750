/*
 * error.h - the thread-local error message behind devo_last_error(), and the
 * macros that set it. Private to the library.
 */
#ifndef DEVO_ERROR_H
#define DEVO_ERROR_H

#include "devo.h"

#if defined(__GNUC__)
#define DEVO_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define DEVO_PRINTF(fmt_index, first_arg)
#endif

/* Records `status` with a printf-style message for this thread; returns status.
 * The arguments may include devo_last_error() (to prefix a message). */
devo_status devo_fail(devo_status status, const char *fmt, ...) DEVO_PRINTF(2, 3);

/* Returns from the enclosing function when `expr` is not DEVO_OK. */
#define DEVO_TRY(expr)                                                                         \
    do {                                                                                       \
        devo_status devo_try_status_ = (expr);                                                 \
        if (devo_try_status_ != DEVO_OK) return devo_try_status_;                              \
    } while (0)

/* Fails with DEVO_ERR_INVALID_ARGUMENT when pointer argument `p` is NULL. */
#define DEVO_REQUIRE_NONNULL(p, fn)                                                            \
    do {                                                                                       \
        if ((p) == NULL)                                                                       \
            return devo_fail(DEVO_ERR_INVALID_ARGUMENT, "%s: argument '%s' is NULL", fn, #p);  \
    } while (0)

#endif /* DEVO_ERROR_H */
