/*
 * gw_rate.c - rate limits: token buckets (messages, typing updates,
 * history and search requests) and
 * strikes, the refused messages that, past cfg.abuse_strikes, close a
 * participant flooding far beyond its limit.
 *
 * Time is the `now` of the hub call. Not the size limits (gw_cmd.c, the
 * decoders). Pure: no I/O, no clock, no logging.
 */
#include "gw_hub_int.h"
#include "gw_json.h"
#include "gw_limits.h"

/* A token bucket of rate per second holding twice that, in thousandths:
 * 1 if one token was taken, 0 if there was none. */
int gw_rate_take(unsigned rate, int64_t *tokens, int64_t *at, int64_t now)
{
    if (!rate)
        return 1;
    int64_t burst = (int64_t)rate * 2000;
    if (now > *at) {
        int64_t dt = now - *at;
        *tokens = dt > burst ? burst : *tokens + dt * (int64_t)rate;
        if (*tokens > burst)
            *tokens = burst;
        *at = now;
    }
    if (*tokens < 1000)
        return 0;
    *tokens -= 1000;
    return 1;
}

/* A message was refused for its rate: a strike. Strikes are forgiven at
 * the message rate; past cfg.abuse_strikes the participant is flooding
 * far beyond its limit and is disconnected. */
void gw_rate_strike(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    p->refusals++;
    if (!h->cfg.abuse_strikes || p->closing)
        return;
    int64_t leak = h->cfg.rate ? h->cfg.rate : GW_RATE_DEFAULT;
    if (now > p->strikes_at) {
        p->strikes -= (now - p->strikes_at) * leak;
        if (p->strikes < 0)
            p->strikes = 0;
        p->strikes_at = now;
    }
    p->strikes += 1000;
    if (p->strikes <= (int64_t)h->cfg.abuse_strikes * 1000)
        return;
    h->metrics.rejections[GW_REJ_ABUSE]++;
    if (p->via == GW_VIA_TCP) {
        gw_tcp_fail(h, p, GW_R_SLOW_DOWN, "flooding far over the rate limit");
    } else {
        gw_out_error(h, p, GW_R_SLOW_DOWN, "flooding far over the rate limit; closing", NULL);
        gw_hub_start_closing(h, p, GW_CLOSE_POLICY, "flooding far over the rate limit");
    }
}

int gw_rate_read_ok(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    if (gw_rate_take(h->cfg.read_rate, &p->read_tokens, &p->read_tokens_at, now))
        return 1;
    h->metrics.rejections[GW_REJ_READ_RATE]++;
    return 0;
}

int gw_rate_ok(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    if (gw_rate_take(h->cfg.rate, &p->tokens, &p->tokens_at, now))
        return 1;
    h->metrics.rejections[GW_REJ_RATE]++;
    return 0;
}

int gw_rate_room(struct gw_hub *h, struct gw_part *p, int64_t now)
{
    unsigned rate = h->cfg.room_rate;
    if (!rate)
        return 1;
    /* In 60000ths of a room: rate a minute is rate of them a ms. */
    int64_t one = 60000, burst = (int64_t)rate * one;
    if (now > p->room_tokens_at) {
        int64_t dt = now - p->room_tokens_at;
        p->room_tokens = dt >= 60000 ? burst : p->room_tokens + dt * (int64_t)rate;
        if (p->room_tokens > burst)
            p->room_tokens = burst;
        p->room_tokens_at = now;
    }
    if (p->room_tokens >= one) {
        p->room_tokens -= one;
        return 1;
    }
    h->metrics.rejections[GW_REJ_ROOM_RATE]++;
    return 0;
}
