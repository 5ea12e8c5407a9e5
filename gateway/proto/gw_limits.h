/*
 * gw_limits.h - every bound of the gateway, in one place.
 *
 * Each buffer and queue of the gateway has its bound here. Going past one is
 * a protocol error (the peer is told and, for framing errors, dropped) or a
 * slow-consumer decision (a TCP view is re-sent whole, a browser is closed
 * with 4421), never an unbounded allocation.
 *
 * Worst-case memory per connection, from these numbers:
 *   TCP:     decoder text (3 * frame cap) + draft (GW_DRAFT_MAX_BYTES)
 *            + queue (GW_TCP_QUEUE_MAX_BYTES) + one batch in flight
 *   browser: reassembly (GW_WS_IN_MAX_BYTES) + queue (GW_WEB_QUEUE_MAX_BYTES)
 *            + one batch or the welcome in flight
 * of which libwebsockets holds at most GW_WRITE_MAX_BYTES; and the output
 * held for all connections together is bounded by --max-output-mb
 * (GW_OUTPUT_MAX_MB_DEFAULT).
 * and for the hub, per room: history (GW_HISTORY_MAX_BYTES) + transcript
 * (GW_TRANSCRIPT_MAX_BYTES), times at most --max-rooms rooms; per
 * identity: its private messages (GW_PRIVATE_KEEP_BYTES).
 */
#ifndef GW_LIMITS_H
#define GW_LIMITS_H

#include "wt_codec.h"

/* A search's words (the "q" of a search request), in bytes of UTF-8: read
 * by the JSON mapping and checked again by every store engine. */
#define GW_STORE_QUERY_MAX_BYTES 256

/* Connections the hub accepts at once (TCP and browsers together):
 * --max-participants. */
#define GW_PARTICIPANTS_DEFAULT 256u
#define GW_PARTICIPANTS_CEILING 65536u

/* Participant connections (TCP and WebSocket together) from one IP address
 * at once: --max-per-address; 0 turns it off. Past it a TCP peer gets a
 * last line "* error 421 ...", a browser error 421 and close 1013. */
#define GW_PER_ADDRESS_DEFAULT 32u

/* Open HTTP connections (plain requests, not yet WebSockets) from one
 * address, past which a request gets 503: the same --max-per-address
 * value, times this factor (a page load opens a few at once). */
#define GW_HTTP_PER_ADDRESS_FACTOR 2u

/* Addresses tracked at once for the per-address bound, and HTTP
 * connections on the request clock at once (fixed tables, scanned per
 * connection, so not sized by the participant ceiling). Past it a
 * connection is not counted for its address (the bound does not apply to
 * it) and an HTTP connection has only libwebsockets' own timeout. */
#define GW_ADDR_TABLE_MAX 8192u

/* A nick: at most this many characters (code points), hence bytes. This
 * is the ceiling; --max-nick-chars may lower it. */
#define GW_NICK_MAX_CHARS 24u
#define GW_NICK_MAX_BYTES (GW_NICK_MAX_CHARS * 4u)

/* A nick's comparison key (NFC and case folding): folding turns one
 * character into at most three (U+0390 into U+03B9 U+0308 U+0301), each
 * at most 4 bytes. */
#define GW_NICK_KEY_MAX_BYTES (GW_NICK_MAX_CHARS * 12u)

/* Code points a nick may have on the way into normalisation (a decomposed
 * spelling takes more than its NFC), and room for its decomposition: past
 * either, the nick is too long. */
#define GW_NICK_IN_MAX_CPS (GW_NICK_MAX_CHARS * 4u)
#define GW_NICK_NORM_MAX_CPS GW_NICK_KEY_MAX_BYTES

/* One chat message's text (a TCP line, a say), in bytes of canonical
 * UTF-8: the ceiling and default; --max-line-bytes may lower it down to
 * GW_TEXT_MIN_BYTES. */
#define GW_TEXT_MAX_BYTES 4096u
#define GW_TEXT_MIN_BYTES 16u

/* Live typing text forwarded to browsers is cut to this many bytes. */
#define GW_TYPING_MAX_BYTES 512u

/* Typing updates leave at most once per this interval per participant. */
#define GW_TYPING_INTERVAL_MS 250

/* A TCP participant's draft (its text box) and the longest frame it may
 * send, in UTF-16 units: --max-draft-units (default 64 Ki units). The
 * draft holds at most WT_UTF8_PER_UNIT_MAX bytes per unit. A longer frame
 * ends the connection with 552. */
#define GW_DRAFT_UNITS_DEFAULT WT_FRAME_UNITS_DEFAULT
#define GW_DRAFT_UNITS_MIN 256u
#define GW_DRAFT_UNITS_CEILING (1024u * 1024u)
#define GW_DRAFT_MAX_BYTES (WT_UTF8_PER_UNIT_MAX * WT_FRAME_UNITS_DEFAULT)

/* The TCP transcript: past MAX it is cut back to about KEEP (at a line
 * boundary) and re-sent to every TCP participant as one R frame. */
#define GW_TRANSCRIPT_MAX_BYTES 16384u
#define GW_TRANSCRIPT_KEEP_BYTES 8192u

/* One transcript line, "\r\n" included. A message's rendering can be
 * longer (each "\n" of a multi-line say becomes "\r\n  ", 4 bytes): it is
 * cut at a character boundary and still ends in "\r\n", so the next line
 * starts on its own line. At most the KEEP size, so that a trimmed
 * transcript always has room for the line that trimmed it. */
#define GW_TRANSCRIPT_LINE_MAX_BYTES GW_TRANSCRIPT_KEEP_BYTES
_Static_assert(GW_TRANSCRIPT_LINE_MAX_BYTES <= GW_TRANSCRIPT_KEEP_BYTES &&
                   GW_TRANSCRIPT_KEEP_BYTES < GW_TRANSCRIPT_MAX_BYTES,
               "a line fits in what a trimmed transcript keeps");

/* Retained events of each room for resuming browsers: whichever bound is
 * hit first drops the oldest. The ring starts at GW_HISTORY_START_EVENTS
 * entries and doubles as the room's history grows, so a quiet room costs
 * little. */
#define GW_HISTORY_MAX_EVENTS 2000u
#define GW_HISTORY_MAX_BYTES (1024u * 1024u)
#define GW_HISTORY_START_EVENTS 16u

/* Events of one room handed to the store and not yet reported kept
 * (gw_store.h). A store that batches per turn of the event loop holds a
 * turn's worth; past this bound (a store that has stalled) a message is
 * refused with 451 and other events are not made. */
#define GW_ROOM_PENDING_MAX 8192u

/* Joins held while their room loads from the store (gw_hub_room_hold):
 * at most this many per room; past it, 421 (try again later). */
#define GW_ROOM_WAITS_MAX 256u

/* How long a join waits for its room to load from a shared store (Redis,
 * ms): past it (the store is down or slow) it is answered 421 for that
 * room, never with a welcome the gateway cannot vouch for
 * (docs/protocol.md). */
#define GW_ROOM_WAIT_MAX_MS 5000

/* Reads of history and search waiting for the store (queued or being
 * read). Per participant: past it, 429. In the gateway: past it, 421 (try
 * later), counted as reads_busy in /metrics; with the sqlite store's two
 * readers and a search's 250 ms bound, the last of 64 waits 8 s at most. */
#define GW_READS_MAX 64u
#define GW_READS_PER_PART_MAX 4u

/* Rate of a participant's history and search requests: the same kind of
 * bucket as --rate (--read-rate): 5 a second, a burst of 10. Over it: 429,
 * nothing is read. */
#define GW_READ_RATE_DEFAULT 5u

/* Events in a history answer (default, at most) and in a search answer;
 * an answer is also cut to GW_READ_REPLY_MAX_BYTES of JSON, the far end
 * left out (and "more" set), so that it fits a browser's queue. */
#define GW_HISTORY_READ_DEFAULT 100u
#define GW_HISTORY_READ_MAX 500u
#define GW_SEARCH_READ_DEFAULT 50u
#define GW_SEARCH_READ_MAX 100u
#define GW_READ_REPLY_MAX_BYTES (256u * 1024u)

/* Rooms the gateway keeps at once, #lobby included (--max-rooms). A room
 * exists while someone is in it or it has history; creating one past the
 * bound first drops the empty room that was least recently active (its
 * history goes), and when every room is occupied the join gets 452. Each
 * room holds at most its history bound and its transcript bound. */
#define GW_ROOMS_MAX_DEFAULT 1000u
#define GW_ROOMS_CEILING 100000u

/* Rooms one wintalk.v2 browser may be in at once (--max-rooms-per-browser);
 * past it, a join gets 452. */
#define GW_ROOMS_PER_BROWSER_DEFAULT 20u
#define GW_ROOMS_PER_BROWSER_CEILING 100u

/* A room's name: '#' and 1 to this many ASCII letters, digits, '-', '_'
 * or '.'; compared case-insensitively. */
#define GW_ROOM_NAME_MAX_CHARS 32u
#define GW_ROOM_NAME_MAX_BYTES (GW_ROOM_NAME_MAX_CHARS + 1u)

/* A room as a browser names it (say, typing, join, part, a key of hello's
 * rooms), in bytes: longer is 552, a shorter bad name is 553. Room for
 * the bad names a user may type (quoted back in the error). */
#define GW_ROOM_ARG_MAX_BYTES 64u

/* Entries in a hello's "rooms" (more: 552): whatever is past
 * --max-rooms-per-browser gets 452 each after the welcome. */
#define GW_HELLO_ROOMS_MAX GW_ROOMS_PER_BROWSER_CEILING

/* /rooms names at most this many rooms, then says how many more. */
#define GW_ROOMS_LIST_MAX 50u

/* The TCP transcript of each room starts with this much room and doubles
 * up to GW_TRANSCRIPT_MAX_BYTES. */
#define GW_TRANSCRIPT_START_BYTES 1024u

/* Private messages: a wintalk.v2 browser's identity keeps its latest ones
 * (sent and received) for a resume, at most this many and this many bytes
 * of JSON, the oldest dropped first. */
#define GW_PRIVATE_KEEP 200u
#define GW_PRIVATE_KEEP_BYTES (64u * 1024u)

/* Accounts (gw_accounts.h): sessions an account may have at once (a new
 * one past this ends its oldest), and how long a session lasts without a
 * login (--session-days). */
#define GW_SESSIONS_PER_ACCOUNT 32u
#define GW_SESSION_DAYS_DEFAULT 30u

/* An account stays a member of its rooms while it has no connection: of
 * at most as many as a browser may be in (a join past it is refused:
 * GW_ACCOUNT_FULL). The store keeps its latest GW_ACCOUNT_PMS_MAX private
 * messages (sent and received) for it, dropping the oldest first. */
#define GW_ACCOUNT_ROOMS_MAX GW_ROOMS_PER_BROWSER_CEILING
#define GW_ACCOUNT_PMS_MAX 1000u

/* Accounts the in-memory engine (gw_accounts_mem.h, --store memory) keeps
 * at most; past it a create is answered GW_STORE_EBUSY. About 0.6 KB an
 * account and 0.13 KB a session: 60 MB of accounts, and 400 MB more should
 * every one hold GW_SESSIONS_PER_ACCOUNT sessions. */
#define GW_ACCOUNTS_MEM_MAX 100000u

/* What a room keeps about who is in charge (store/gw_roomcfg.h), per room:
 * its operators, those given voice, bans, mutes and invites (entries not
 * expired; a new one past its list's bound is refused: GW_ROOMCFG_FULL),
 * and the gateway-wide bans. A room's whole config in one answer is then
 * at most 1056 entries of about 0.4 KB. The topic (bytes of UTF-8; IRC
 * servers commonly allow 390), a join key (bytes of [!-~]) and a reason
 * given with a ban, mute or invite (bytes of UTF-8). */
#define GW_ROOMCFG_OPS_MAX 32u
#define GW_ROOMCFG_VOICE_MAX 256u
#define GW_ROOMCFG_BANS_MAX 256u
#define GW_ROOMCFG_MUTES_MAX 256u
#define GW_ROOMCFG_INVITES_MAX 256u
#define GW_GBANS_MAX 4096u
#define GW_ROOMCFG_TOPIC_MAX_BYTES 390u
#define GW_ROOMCFG_KEY_MAX_BYTES 32u
#define GW_ROOMCFG_WHY_MAX_BYTES 256u

/* Rooms with a config the in-memory engine (gw_roomcfg_mem.h) keeps at
 * most; a write that would add one more is answered GW_STORE_EBUSY. */
#define GW_ROOMCFG_MEM_ROOMS_MAX 65536u

/* A wintalk.v2 browser that closes (a reload, a dropped network) stays in
 * its rooms this long (--reload-grace) before anyone is told it left: its
 * identity coming back in time (the same token) takes its place with no
 * leave and no join. At most GW_LINGER_MAX wait at once; past that, one
 * leaves at once. */
#define GW_RELOAD_GRACE_DEFAULT_S 15u
#define GW_RELOAD_GRACE_MAX_S 3600u
#define GW_LINGER_MAX 4096u

/* Identities without a connection are kept this long after their last
 * connection left, and at most GW_IDENTITIES_MAX of them (the oldest go
 * first); an identity with a connection is kept while it has one, so there
 * are at most that many more than the connections. */
#define GW_IDENTITY_TTL_MS (60 * 60 * 1000)

/* With an engine several gateways share, each gateway keeps the
 * identities of its browsers there for GW_IDENTITY_TTL_MS more this
 * often while they are connected. */
#define GW_IDENT_TOUCH_MS (60 * 1000)

/* With an engine several gateways share, guests are numbered at random
 * from GW_GUEST_DRAWN to 10 * GW_GUEST_DRAWN - 1 (six digits), so that
 * two gateways' guests seldom have one name. */
#define GW_GUEST_DRAWN 100000u
#define GW_IDENTITIES_MAX 4096u

/* The identity index: this many hash buckets (a power of two). */
#define GW_IDENTITY_BUCKETS 4096u

/* A resume token: GW_TOKEN_BYTES random bytes from the adapter, shown as
 * GW_TOKEN_HEX_LEN lowercase hex digits. A hello may give a token of at
 * most GW_TOKEN_MAX_BYTES (more: 552); one of another form is unknown. */
#define GW_TOKEN_BYTES 16u
#define GW_TOKEN_HEX_LEN (GW_TOKEN_BYTES * 2u)
#define GW_TOKEN_MAX_BYTES 64u
/* A token's SHA-256 digest in lowercase hex: how a shared store engine
 * names an identity (gw_store.h's ident_* calls). */
#define GW_DIGEST_HEX_LEN 64u

/* Presence in a crowd. With more than this many participants connected,
 * joins and leaves are not room events (no live event, no transcript line,
 * no history), and a welcome lists only this many participants (with
 * participants_count, the room's size): otherwise every arrival costs an
 * event to everyone, and 10,000 arrivals cost 100 million deliveries and
 * a welcome of half a megabyte each. Above the default --max-participants,
 * so a default gateway never reaches it. */
#define GW_PRESENCE_MAX 500u

/* Shared rooms (an engine that orders, gw_store.h): each gateway is a node,
 * the high bits of its participants' ids (gw_hub_config.pid_base), and
 * sends the list of its participants every GW_PRESENCE_BEAT_MS; a node
 * not heard of for GW_PRESENCE_TTL_MS is gone (its participants leave
 * every list). At most GW_NODES_MAX other nodes and GW_REMOTES_MAX of
 * their participants are known at once; a list of over
 * GW_PRESENCE_LIST_MAX_BYTES is not taken. */
#define GW_NODE_SHIFT 32
#define GW_NODE_MAX ((UINT64_C(1) << 20) - 1u) /* ids stay below 2^53 */
#define GW_PRESENCE_BEAT_MS 5000
#define GW_PRESENCE_TTL_MS 15000
#define GW_NODES_MAX 64u
#define GW_REMOTES_MAX 262144u
#define GW_PRESENCE_LIST_MAX_BYTES (16u * 1024u * 1024u)

/* The epoch of the event ids (a 64-bit random number the adapter makes
 * when the history starts), as a welcome shows it: this many lowercase hex
 * digits. A hello may give one of at most GW_EPOCH_MAX_BYTES (more: 552);
 * anything but the current epoch means the browser's history was reset. */
#define GW_EPOCH_HEX_LEN 16u
#define GW_EPOCH_MAX_BYTES 64u

/* Events a browser gets in its welcome on a first visit (last_id 0), or
 * when its history was reset (another epoch). */
#define GW_WELCOME_RECENT 100u

/* The history in one welcome, in bytes: past it the oldest events are left
 * out and the welcome says "gap". Well under the browser's queue bound, so
 * the events after the welcome still fit. */
#define GW_WELCOME_HISTORY_MAX_BYTES (256u * 1024u)

/* Output queues. A TCP participant past its bound loses the queue and gets
 * one R frame of the current transcript instead (the view is the state). A
 * browser past its bound is closed with 4421 and resumes by id. A single
 * item larger than the bound (a welcome) is accepted into an empty queue.
 * The line telling a TCP participant why it is closed never waits on the
 * bound: the oldest queued output is dropped for it (gw_queue_push_last). */
#define GW_TCP_QUEUE_MAX_BYTES (64u * 1024u)
#define GW_WEB_QUEUE_MAX_BYTES (512u * 1024u)
#define GW_QUEUE_MAX_ITEMS 4096u

/* Output held for all clients together, in MiB (--max-output-mb; 0: no
 * bound): every queue's bytes, a buffer shared by several queues counted
 * once per queue, and the writes libwebsockets still holds. Past it the
 * connections holding most are closed first (a browser 4421, a TCP peer
 * "* error 421 ..."), like Redis's maxmemory-clients. */
#define GW_OUTPUT_MAX_MB_DEFAULT 64u
#define GW_OUTPUT_MAX_MB_CEILING 65536u

/* The kernel's send buffer of each accepted socket. Fixed rather than
 * auto-tuned (which grows to megabytes per peer), so that a peer that stops
 * reading is noticed by the queue bounds above instead of hiding in the
 * kernel. */
#define GW_SOCKET_SNDBUF (128 * 1024)

/* Several queued items leave together in one write, up to this size:
 * about what a write into a loopback or LAN socket takes at once, since
 * libwebsockets copies whatever a write leaves unsent. */
#define GW_BATCH_MAX_BYTES (32u * 1024u)

/* One write to a socket is at most this: a larger item (a welcome, a
 * history answer) leaves in pieces (WebSocket fragments of one message),
 * one per writeable callback, so that libwebsockets, which copies what a
 * socket does not take, holds at most this much per slow connection. */
#define GW_WRITE_MAX_BYTES GW_BATCH_MAX_BYTES

/* libwebsockets' receive buffer of each browser connection: a message
 * larger than this arrives in several callbacks and is reassembled (up to
 * --max-json-bytes), so it only sets the chunk size, and it is held per
 * connection (a hello or a say fits; 4096 cost 3.4 KB per idle browser). */
#define GW_WS_RX_CHUNK_BYTES 512u

/* The most libwebsockets hands to one send(). Its default is the receive
 * buffer's size, which would cut every batch into 512-byte sends and copy
 * the rest; this is the socket's send buffer, so a batch (or a welcome up
 * to this size) is one send. It is a bound, not a buffer. */
#define GW_TX_PACKET_MAX_BYTES ((size_t)GW_SOCKET_SNDBUF)

/* One WebSocket message from a browser, reassembled from fragments:
 * --max-json-bytes (default and ceiling below). Past it: error 552 and
 * close 1009. */
#define GW_WS_IN_MAX_BYTES (64u * 1024u)
#define GW_WS_IN_MIN_BYTES 1024u
#define GW_WS_IN_CEILING (1024u * 1024u)

/* Rate of messages (say, lines, commands) per participant: a token bucket
 * of GW_RATE_DEFAULT per second holding at most twice that (--rate). 0
 * turns it off. Over it: 429, the message is not sent. */
#define GW_RATE_DEFAULT 10u

/* Removing messages (/delete, a browser's delete): a token bucket of its
 * own, GW_DELETE_RATE per second holding twice that, so a burst of
 * deletions cannot slow chat nor chat stop a clean-up; over it: 429.
 * An administrator's removal of every message of a nick in a room has a
 * bucket of its own too (GW_DELETE_ALL_RATE a second, twice that held)
 * and removes at most GW_DELETE_BATCH_MAX messages per request (the room's
 * ring walked once: bounded work in one turn of the loop); the answer
 * says when more remain, to be asked again. A message may be removed
 * while it is among the room's recent events the gateway keeps
 * (GW_HISTORY_MAX_EVENTS). */
#define GW_DELETE_RATE 2u
#define GW_DELETE_ALL_RATE 1u
#define GW_DELETE_BATCH_MAX 50u

/* Rate of a browser's typing updates: the same kind of bucket
 * (--typing-rate). The page sends at most 4 a second. Over it: 429, the
 * update is dropped. A TCP participant's typing comes from its frames and
 * is throttled (GW_TYPING_INTERVAL_MS), not refused. */
#define GW_TYPING_RATE_DEFAULT 10u

/* Rate of new rooms per participant: opening a room the gateway does not
 * have (a join, a hello's room) takes one from a bucket of
 * GW_ROOM_RATE_DEFAULT a minute holding that many (--room-rate). 0 turns
 * it off. Over it: 429, the room is not opened. Rooms cost nothing kept
 * once they are empty and have no messages (the store forgets them), so
 * this bounds the work of making them, not the disk. */
#define GW_ROOM_RATE_DEFAULT 10u

/* Abuse: each refused message (429) adds a strike; strikes leak at the
 * --rate per second. A participant with more than this many strikes
 * (--abuse-strikes), that is one sustained far over its rate, is
 * disconnected: "* error 429: flooding; closing" or error 429 and close
 * 1008. 0: never. */
#define GW_ABUSE_STRIKES_DEFAULT 100u

/* The access key given with --access-key. */
#define GW_KEY_MAX_BYTES 256u

/* A site's own login, a JWT (server/gw_jwt.h). The key file (an HMAC
 * secret or a PEM public key) is read whole at start, at most this many
 * bytes; a token is at most GW_JWT_MAX_BYTES (longer: refused unread).
 * exp and nbf are compared with GW_JWT_LEEWAY_S seconds of leeway for
 * clocks that disagree (at most GW_JWT_LEEWAY_MAX_S). Claims are copied
 * into fixed buffers: sub (the site's user id) at most GW_JWT_SUB_MAX_BYTES,
 * iss and aud as configured at most GW_JWT_CLAIM_MAX_BYTES, a nick at most
 * GW_NICK_MAX_BYTES, rooms at most GW_JWT_ROOMS_MAX names of at most
 * GW_ROOM_NAME_MAX_BYTES; anything longer refuses the token. An HMAC secret
 * is at least GW_JWT_SECRET_MIN_BYTES (RFC 7518 3.2: the hash's size). */
#define GW_JWT_KEY_MAX_BYTES (16u * 1024u)
#define GW_JWT_MAX_BYTES 4096u
#define GW_JWT_LEEWAY_S 60
#define GW_JWT_LEEWAY_MAX_S 3600
#define GW_JWT_SUB_MAX_BYTES 128u
#define GW_JWT_CLAIM_MAX_BYTES 256u
#define GW_JWT_ROOMS_MAX 16u
#define GW_JWT_SECRET_MIN_BYTES 32u

/* A hello with a site's token whose account the store is asked for (found,
 * or made on first sight): at most GW_JWT_LOGINS_MAX such hellos held at
 * once in a hub (past it: 421, try again, and the browser is a guest).
 * An account a token made keeps the token's sub in its phc field as
 * "jwt:" + sub: GW_JWT_SUB_MAX_BYTES + 4 bytes, within
 * GW_ACCOUNT_PHC_MAX_BYTES. */
#define GW_JWT_LOGINS_MAX 64u

/* --admin may name this many accounts (the variable WINTALK_ADMIN too,
 * comma-separated). */
#define GW_ADMINS_MAX 32u

/* WebSocket keepalive: a ping after this many idle seconds
 * (--ping-interval), and the connection is dropped after this many
 * seconds without a valid frame or pong (--idle-timeout). */
#define GW_PING_INTERVAL_DEFAULT_S 30u
#define GW_IDLE_TIMEOUT_DEFAULT_S 75u

/* A connection that has not joined (no hello, no /login) within this many
 * seconds is closed (--login-timeout). */
#define GW_LOGIN_TIMEOUT_DEFAULT_S 30u

/* An HTTP request (headers included) must arrive within this many seconds
 * of the connection (--http-timeout): a slowloris is cut. Idle keep-alive
 * connections are closed after GW_HTTP_KEEPALIVE_S. */
#define GW_HTTP_TIMEOUT_DEFAULT_S 10u
#define GW_HTTP_KEEPALIVE_S 5u

/* Request header bytes lws keeps per connection: larger headers are
 * refused. */
#define GW_HTTP_HEADER_MAX_BYTES 4096u

/* Longest Origin (and Host) compared for the same-origin rule, in bytes;
 * also the longest --allow-origin. A longer Origin is refused (403). */
#define GW_ORIGIN_MAX_BYTES 255u

/* Bytes of a refused Origin quoted in the log line. */
#define GW_ORIGIN_LOG_BYTES 96u

/* --allow-origin may be given this many times. */
#define GW_ALLOW_ORIGINS_MAX 16u

/* A client's "ref", echoed in errors: a string of at most this many bytes
 * or an integer. */
#define GW_REF_MAX_BYTES 64u

/* A close reason kept for the log and the WebSocket close frame. */
#define GW_REASON_MAX_BYTES 120u

/* Passwords of accounts, in bytes (any bytes; the hub checks the text):
 * at least 1, at most GW_PASSWORD_MAX_BYTES. Longer is refused, never
 * cut: a cut password would let its prefix in. */
#define GW_PASSWORD_MAX_BYTES 256u

/* A browser's password field read at most this long (longer: 552, the
 * message refused); between GW_PASSWORD_MAX_BYTES and it, the hub says
 * how long a password may be (501). */
#define GW_PASSWORD_IN_MAX_BYTES 1024u

/* Account calls and password checks under way in the hub at once (a
 * register, a login, a nick asked of the accounts): past it, 421. */
#define GW_ACCOUNT_OPS_MAX 64u

/* Store calls under way at once for what accounts keep while away (a
 * private message kept, the rooms and messages given at a login, a join,
 * part or read written): past it, 421 for a message, and a join, part or
 * read is not written. */
#define GW_KEPT_OPS_MAX 256u

/* The accounts a room lists as away (hub/gw_away.c): at most this many (a
 * page of the store's members, GW_ACCOUNT_KEYS_PAGE, or fewer); past it,
 * an account away is not listed, and its return shows as a join. Their
 * nicks are asked of the store GW_AWAY_NAMES_AT_ONCE at a time a room. */
#define GW_ROOM_AWAY_MAX 256u
#define GW_AWAY_NAMES_AT_ONCE 16u

/* --frame-ancestors: the origins that may frame the page, in bytes. */
#define GW_FRAME_ANCESTORS_MAX_BYTES 512u

/* The registered names a hub knows (hub/gw_names.c), to check a nick at
 * once: at most GW_NAMES_MAX (past it, a name is not reserved by the check
 * but its owner takes it back by logging in; about 50 bytes a name), walked
 * from the store every GW_NAMES_WALK_MS (an account the command line or
 * another gateway made is reserved here within that time), or
 * GW_NAMES_RETRY_MS after a walk failed. */
#define GW_NAMES_MAX 200000u
#define GW_NAMES_WALK_MS 30000
#define GW_NAMES_RETRY_MS 5000

/* The accounts logged in to a hub are looked at again in the store
 * (hub/gw_generation.c) as each walk of the names begins, and when the
 * store's link to the other gateways is back after an outage: a
 * connection whose session another gateway ended (its news lost) ends
 * then. At most GW_ACCOUNT_CHECKS_MAX look-ups out at once; a round holds
 * one connection id (8 bytes) of each account logged in. */
#define GW_ACCOUNT_CHECKS_MAX 8u

/* Failed logins (a wrong password, or a nick nobody registered), counted
 * per account name, per connection and per address: GW_LOGIN_FAILS_BURST
 * in a row for one name, then one more each GW_LOGIN_FAIL_REFILL_MS; a
 * connection GW_LOGIN_FAILS_CONN_BURST whatever the names, an address
 * GW_LOGIN_FAILS_ADDR_BURST, at the same refill. Past any, a login is
 * refused at once (429) and no password is checked. An address registers
 * --registrations-per-hour accounts at most (GW_REGISTRATIONS_PER_HOUR by
 * default; 429). Addresses are not counted behind a proxy
 * (--max-per-address 0).
 * The names are remembered in a table of GW_LOGIN_FAIL_KEYS; when it is
 * full, the name with the most tries left makes room. */
#define GW_LOGIN_FAILS_BURST 5
#define GW_LOGIN_FAILS_CONN_BURST 10
#define GW_LOGIN_FAILS_ADDR_BURST 20
#define GW_LOGIN_FAIL_REFILL_MS 12000
#define GW_LOGIN_FAIL_KEYS 1024u
#define GW_REGISTRATIONS_PER_HOUR 10u

/* What a browser sends after a hello that is held (while the store looks
 * its identity, its session or its rooms up) waits behind it: at most this
 * many messages and bytes; more closes it (421, try again). */
#define GW_HELD_AFTER_MAX 32u
#define GW_HELD_AFTER_MAX_BYTES (64u * 1024u)

/* The password hasher (server/gw_hasher.h): requests held at once, from
 * their submission until their answer has been handed back on the loop
 * (queued, being hashed, answered): past it a request is refused (busy)
 * and the caller answers "try later". Each holds at most a password
 * (GW_PASSWORD_MAX_BYTES) and a PHC string (GW_ACCOUNT_PHC_MAX_BYTES). */
#define GW_HASH_QUEUE_MAX 64u
#define GW_HASH_QUEUE_CEILING 1024u

/* Its threads: each hash takes one core for tens of milliseconds (and
 * 19 MiB), so one thread by default leaves the other core of a two-core
 * machine to the chat; a login flood waits in the queue, not on the
 * loop. The ceiling bounds the memory of hashes at once. */
#define GW_HASH_THREADS 1u
/* The hasher's threads run at this nice value (the lowest priority short
 * of SCHED_IDLE, which would starve logins on a busy machine): on a core
 * the event loop also wants, the loop gets nearly all of it. */
#define GW_HASH_NICE 19
#define GW_HASH_THREADS_MAX 8u

#endif /* GW_LIMITS_H */
