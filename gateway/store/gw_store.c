/*
 * gw_store.c - what every store engine shares: the check of a search's
 * words and the English of the return codes. Pure; see gw_store.h.
 */
#include "gw_store.h"

#include <stdint.h>

#include "gw_text.h"
#include "wt_codec.h"

int gw_store_query_check(const char *q, size_t len)
{
    if (!q || len == 0 || len > GW_STORE_QUERY_MAX_BYTES)
        return GW_STORE_EINVAL;
    int words = 0;
    for (size_t at = 0; at < len;) {
        uint32_t cp;
        size_t used;
        if (wt_utf8_next(q + at, len - at, &cp, &used) != 0)
            return GW_STORE_EINVAL;
        at += used;
        if (cp < 0x20 || cp == 0x7f)
            return GW_STORE_EINVAL; /* control characters */
        words |= gw_is_letter(cp, 1);
    }
    return words ? 0 : GW_STORE_EINVAL;
}

const char *gw_store_strerror(int status)
{
    switch (status) {
    case GW_STORE_DONE: return "kept";
    case GW_STORE_PENDING: return "pending";
    case GW_STORE_EIO: return "the store failed";
    case GW_STORE_ENOMEM: return "out of memory";
    case GW_STORE_ENOTSUP: return "not offered by this store";
    case GW_STORE_EINVAL: return "a request the store cannot take";
    case GW_STORE_EBUSY: return "the store is busy";
    default: return "unknown store status";
    }
}
