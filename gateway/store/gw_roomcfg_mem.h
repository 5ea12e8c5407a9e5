/*
 * gw_roomcfg_mem.h - the in-memory room config engine (gw_roomcfg.h): what
 * --store memory keeps of rooms' owners, topics, settings, operators,
 * voice, bans, mutes, invites and the gateway-wide bans while the gateway
 * runs (nothing survives a restart), and what the hub's tests drive.
 *
 * Pure: no I/O, no clock (time is an argument), no threads. Every call
 * decides at once, in the order calls are made (a load after a write sees
 * it), but its answer is only queued: gw_roomcfg_mem_flush gives the
 * queued answers to the sink, so that no answer is ever given inside the
 * call that asked, and a test decides when answers arrive. A write
 * answered GW_STORE_DONE queues sink->changed right after its answer (one
 * gateway: this one is every gateway there is).
 *
 * Keys and addresses are compared as bytes: making a key (gw_nick_key,
 * the room's key) and an address canonical (gw_roomcfg_addr_canon) is the
 * caller's job; the engine refuses one that is not (GW_STORE_EINVAL).
 *
 * Bounds: GW_ROOMCFG_MEM_ROOMS_MAX rooms with a config (gw_limits.h; a
 * write that would make one more is answered GW_STORE_EBUSY; a room stays
 * once written, even set back to nothing), each list's bound
 * (gw_roomcfg_list_max), GW_ROOMCFG_MEM_ANSWERS_MAX answers waiting for a
 * flush (a call past it returns GW_STORE_EBUSY and does nothing).
 * Expired entries are deleted lazily: a write to a list drops that list's
 * expired entries first (as of the write's time).
 */
#ifndef GW_ROOMCFG_MEM_H
#define GW_ROOMCFG_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "gw_roomcfg.h"

/* Answers (and changed notices) waiting for gw_roomcfg_mem_flush. */
#define GW_ROOMCFG_MEM_ANSWERS_MAX 1024u

/* Hash buckets of the rooms (a power of two). */
#define GW_ROOMCFG_MEM_BUCKETS 4096u

struct gw_roomcfg_mem; /* opaque */

/*
 * A new, empty engine answering to sink (copied; answer must be set).
 * Returns 0 and the engine in *out (free with gw_roomcfg_mem_free),
 * GW_STORE_EINVAL for a missing sink, or GW_STORE_ENOMEM.
 */
int gw_roomcfg_mem_new(struct gw_roomcfg_mem **out, const struct gw_roomcfg_sink *sink);

/* Fill *out with the engine's calls (every one offered), ctx m. Each
 * returns GW_STORE_PENDING, or GW_STORE_EINVAL for a bad argument
 * (gw_roomcfg.h), or GW_STORE_EBUSY when GW_ROOMCFG_MEM_ANSWERS_MAX answers
 * wait, or GW_STORE_ENOMEM; then nothing is done. Valid until
 * gw_roomcfg_mem_free. */
void gw_roomcfg_mem_iface(struct gw_roomcfg_mem *m, struct gw_roomcfgs *out);

/*
 * Give the answers queued before this call to the sink, oldest first.
 * Calls the sink makes meanwhile queue answers for the next flush.
 * Returns the number of answers (and notices) given.
 */
size_t gw_roomcfg_mem_flush(struct gw_roomcfg_mem *m);

/* Rooms with a config kept now (the gateway-wide bans count as one once
 * written), and entries kept (expired ones not yet deleted included). */
size_t gw_roomcfg_mem_count(const struct gw_roomcfg_mem *m, size_t *entries);

/* Free the engine, its rooms and the answers not given. NULL is fine. */
void gw_roomcfg_mem_free(struct gw_roomcfg_mem *m);

#endif /* GW_ROOMCFG_MEM_H */
