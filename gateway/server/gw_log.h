/*
 * gw_log.h - the program's log: one line per event on standard error,
 * stamped with the UTC time to the millisecond, written with one write so
 * that lines are never split or interleaved in a container's log.
 *
 * Part of the program (server/): the hub never logs; it says why in its
 * replies and close reasons, and the program logs those.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

/* A log line is cut at this many bytes. */
#define GW_LOG_LINE_MAX_BYTES 4096

void gw_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line given whole (the store's lines: gw_storage_attach). */
void gw_log_line(const char *line);

#endif /* GW_LOG_H */
