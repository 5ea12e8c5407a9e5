/*
 * gw_clock.h - the program's two clocks, in milliseconds.
 *
 * Every duration (rate limits, the typing throttle, login and request
 * deadlines, uptime) is measured on the monotonic clock, which a step of
 * the system's time (an operator's `date -s`, NTP stepping) does not move:
 * stepped back, the wall clock would stop every refill; stepped forward,
 * it would fire every deadline at once. The wall clock is only for the
 * `time` of events (the hub adds the offset) and the log.
 *
 * Part of the program (server/): the hub never reads a clock, it is given
 * the time.
 */
#ifndef GW_CLOCK_H
#define GW_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t gw_clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic: for every duration. */
static inline int64_t gw_now_ms(void)
{
    return gw_clock_ms(CLOCK_MONOTONIC);
}

/* Since the Unix epoch: for the time of events and the log. */
static inline int64_t gw_wall_ms(void)
{
    return gw_clock_ms(CLOCK_REALTIME);
}

#endif /* GW_CLOCK_H */
