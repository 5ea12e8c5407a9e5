/*
 * gw_accounts_mem.h - the in-memory accounts engine (gw_accounts.h): what
 * --store memory keeps of accounts and their sessions while the gateway
 * runs (nothing survives a restart), and what the hub's tests drive.
 *
 * Pure: no I/O, no clock (time is an argument), no threads. Every call
 * decides at once, in the order calls are made (a find after a create
 * sees it), but its answer is only queued: gw_accounts_mem_flush gives
 * the queued answers to the sink, so that no answer is ever given inside
 * the call that asked, and a test decides when answers arrive.
 *
 * Keys and digests are compared as bytes: making the key (NFC, case
 * folding: gw_nick_key) is the caller's job.
 *
 * Bounds: GW_ACCOUNTS_MEM_MAX accounts (gw_limits.h; a create past it is
 * answered GW_STORE_EBUSY), GW_SESSIONS_PER_ACCOUNT sessions each (a new
 * one past it ends the account's oldest), GW_ACCOUNT_ROOMS_MAX rooms each
 * (a join past it is answered GW_ACCOUNT_FULL), GW_ACCOUNT_PMS_MAX private
 * messages each (the oldest go) and GW_ACCOUNTS_MEM_PM_BYTES_MAX bytes of
 * them in all (past it pm_add is answered GW_STORE_EBUSY),
 * GW_ACCOUNTS_MEM_ANSWERS_MAX answers waiting for a flush (a call past it
 * returns GW_STORE_EBUSY and does nothing).
 *
 * Rooms and members: room_accounts pages like the SQLite engine, the cursor
 * being the last key given (pages exact). Message ids count on from the
 * account's last while it exists (nothing survives a restart).
 */
#ifndef GW_ACCOUNTS_MEM_H
#define GW_ACCOUNTS_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "gw_accounts.h"

/* Answers waiting for gw_accounts_mem_flush. */
#define GW_ACCOUNTS_MEM_ANSWERS_MAX 1024u

/* Bytes of every private message kept (peer and text, each with a NUL),
 * at most: past it pm_add is answered GW_STORE_EBUSY (nothing kept).
 * GW_ACCOUNT_PMS_MAX per account would let GW_ACCOUNTS_MEM_MAX accounts
 * keep 400 GB. */
#define GW_ACCOUNTS_MEM_PM_BYTES_MAX (64u * 1024u * 1024u)

/* Hash buckets of the account, session and room indexes (powers of two). */
#define GW_ACCOUNTS_MEM_BUCKETS 16384u

/* Buckets one call of keys looks at, at most (its page may be short). */
#define GW_ACCOUNTS_MEM_KEYS_WALK 1024u

struct gw_accounts_mem; /* opaque */

/*
 * A new, empty engine answering to sink (copied; answer must be set).
 * Returns 0 and the engine in *out (free with gw_accounts_mem_free),
 * GW_STORE_EINVAL for a missing sink, or GW_STORE_ENOMEM.
 */
int gw_accounts_mem_new(struct gw_accounts_mem **out, const struct gw_account_sink *sink);

/* Fill *out with the engine's calls (every one offered), ctx m. Each
 * returns GW_STORE_PENDING, or GW_STORE_EINVAL for a bad argument (a key
 * of 0 or more than GW_ACCOUNT_KEY_MAX_BYTES bytes, a nick likewise, a phc
 * past GW_ACCOUNT_PHC_MAX_BYTES, a digest not of GW_DIGEST_HEX_LEN
 * lowercase hex digits, a room, peer or text outside gw_accounts.h's
 * bounds, an id past GW_ACCOUNT_ID_MAX, a NULL string, a call whose
 * answer needs a sink function not given), or GW_STORE_EBUSY when
 * GW_ACCOUNTS_MEM_ANSWERS_MAX answers wait; then nothing is done. A
 * session is over at now_ms >= its expires_ms. Valid until
 * gw_accounts_mem_free. */
void gw_accounts_mem_iface(struct gw_accounts_mem *m, struct gw_accounts *out);

/*
 * Give the answers queued before this call to the sink, oldest first.
 * Calls the sink makes meanwhile queue answers for the next flush.
 * Returns the number of answers given.
 */
size_t gw_accounts_mem_flush(struct gw_accounts_mem *m);

/* End every session over at now_ms (wall clock, ms): at most this many
 * at once, so that a call holds the loop little. Returns those ended. */
#define GW_ACCOUNTS_MEM_EXPIRE_MAX 4096u
size_t gw_accounts_mem_expire(struct gw_accounts_mem *m, int64_t now_ms);

/* Accounts and sessions kept now. */
size_t gw_accounts_mem_count(const struct gw_accounts_mem *m, size_t *sessions);

/* Free the engine, its accounts and the answers not given. NULL is fine. */
void gw_accounts_mem_free(struct gw_accounts_mem *m);

#endif /* GW_ACCOUNTS_MEM_H */
