/* error.c - the thread-local last-error message behind ns_error_set(). */
#include "normsweep/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char err_msg[1024];
static _Thread_local ns_status err_code = NS_OK;

ns_status ns_error_set(ns_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    err_code = code;
    return code;
}

const char *ns_error_msg(void) { return err_msg; }
ns_status ns_error_code(void) { return err_code; }

void ns_error_clear(void)
{
    err_msg[0] = '\0';
    err_code = NS_OK;
}

const char *ns_status_name(ns_status s)
{
    switch (s) {
    case NS_OK: return "NS_OK";
    case NS_ERR_ARG: return "NS_ERR_ARG";
    case NS_ERR_IO: return "NS_ERR_IO";
    case NS_ERR_FORMAT: return "NS_ERR_FORMAT";
    case NS_ERR_NOMEM: return "NS_ERR_NOMEM";
    case NS_ERR_MPI: return "NS_ERR_MPI";
    case NS_ERR_HDF5: return "NS_ERR_HDF5";
    case NS_ERR_NUMERIC: return "NS_ERR_NUMERIC";
    case NS_ERR_STATE: return "NS_ERR_STATE";
    case NS_ERR_INTERNAL: return "NS_ERR_INTERNAL";
    }
    return "NS_ERR_UNKNOWN";
}
