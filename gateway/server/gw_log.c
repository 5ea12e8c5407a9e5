/*
 * gw_log.c - the program's log (gw_log.h).
 */
#include "gw_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void gw_log(const char *fmt, ...)
{
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    /* One write per line, so that a line is never split or interleaved
     * with another writer's in a container's log. */
    char line[GW_LOG_LINE_MAX_BYTES];
    int n = snprintf(line, sizeof line, "%s.%03ldZ ", stamp, ts.tv_nsec / 1000000);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2; /* cut: a line over the bound */
    line[len++] = '\n';
    fwrite(line, 1, len, stderr);
    fflush(stderr);
}

/* A line from the store (gw_storage_attach). */
void gw_log_line(const char *line)
{
    gw_log("%s", line);
}
