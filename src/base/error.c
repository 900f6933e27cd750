/*
 * error.c - status names, the thread-local last-error message, and the version.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEVO_STR2(x) #x
#define DEVO_STR(x) DEVO_STR2(x)

static _Thread_local char last_error[1024];

devo_status devo_fail(devo_status status, const char *fmt, ...)
{
    // Formatted apart first: the arguments may include devo_last_error() itself.
    char message[sizeof last_error];
    va_list args;
    va_start(args, fmt);
    vsnprintf(message, sizeof message, fmt, args);
    va_end(args);
    memcpy(last_error, message, sizeof last_error);
    return status;
}

const char *devo_last_error(void) { return last_error; }

const char *devo_status_string(devo_status status)
{
    switch (status) {
    case DEVO_OK: return "DEVO_OK";
    case DEVO_ERR_INVALID_ARGUMENT: return "DEVO_ERR_INVALID_ARGUMENT";
    case DEVO_ERR_OUT_OF_MEMORY: return "DEVO_ERR_OUT_OF_MEMORY";
    case DEVO_ERR_IO: return "DEVO_ERR_IO";
    case DEVO_ERR_FORMAT: return "DEVO_ERR_FORMAT";
    case DEVO_ERR_UNSUPPORTED: return "DEVO_ERR_UNSUPPORTED";
    case DEVO_ERR_BACKEND: return "DEVO_ERR_BACKEND";
    case DEVO_ERR_NUMERIC: return "DEVO_ERR_NUMERIC";
    case DEVO_ERR_INTERNAL: return "DEVO_ERR_INTERNAL";
    case DEVO_ERR_CALLBACK: return "DEVO_ERR_CALLBACK";
    }
    return "DEVO_ERR_UNKNOWN";
}

const char *devo_version_string(void)
{
    return DEVO_STR(DEVO_VERSION_MAJOR) "." DEVO_STR(DEVO_VERSION_MINOR) "." DEVO_STR(
        DEVO_VERSION_PATCH);
}
