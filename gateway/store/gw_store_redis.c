/*
 * gw_store_redis.c - the Redis store engine (gw_store_redis.h): rooms as
 * streams with a meta hash, events appended by one Lua script that also
 * publishes them, live delivery from the rooms' channels, recovery from
 * the streams; accounts and their sessions, each call one script.
 */
#include "gw_store_redis.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "gw_json.h"
#include "gw_limits.h"
#include "gw_redis.h"

/* The append scripts. KEYS: the epoch, the room's hash, its stream, one
 * of the script's own, then the floor (FLOOR_KEY). ARGV: the epoch
 * expected, the JSON before and after the id, the transcript line, type,
 * time, words, the stream's bound, the channel, the room's name, then the
 * script's own. What both do once the epoch is the one expected: take the
 * next id (HINCRBY top; a room Redis does not have starts above the
 * floor, the highest id a forgotten room had), write it into the JSON,
 * add the entry and publish it. */
#define APPEND_BODY                                                                          \
    "local id = redis.call('HINCRBY', KEYS[2], 'top', 1)\n"                                  \
    "if id == 1 then\n"                                                                      \
    "  local f = tonumber(redis.call('GET', KEYS[5]) or '0')\n"                              \
    "  if f > 0 then id = f + 1 redis.call('HSET', KEYS[2], 'top', id) end\n"                \
    "  redis.call('DEL', KEYS[3])\n"                                                         \
    "  redis.call('HSET', KEYS[2], 'name', ARGV[10])\n"                                      \
    "end\n"                                                                                  \
    "local j = ARGV[2] .. id .. ARGV[3]\n"                                                   \
    "redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[8], id .. '-0', 'j', j, 'l', ARGV[4],\n" \
    "           'y', ARGV[5], 't', ARGV[6], 'x', ARGV[7])\n"                                 \
    "redis.call('PUBLISH', ARGV[9], 'E' .. id .. ' ' .. #j .. ' ' .. j .. ARGV[4])\n"

/* The append: KEYS[4] this gateway's count of appends kept; ARGV[11]
 * this append's number among the gateway's, ARGV[12] how long that count
 * is kept (ms). Answers {id, epoch}, or {0, epoch} (or {0, ""}: none) when
 * the epoch is not the one expected: nothing was kept. The count says,
 * when an answer is lost with its connection, whether the append was
 * kept all the same. */
/* ARGV[13]: a deleted event's message id ("0": none). A stream's entry
 * cannot be rewritten in place: the message's entry is deleted (XDEL,
 * when it is a message), words and all, in the same script that keeps
 * the deleted event, which stays as the record of what was there. */
static const char append_lua[] =
    "local e = redis.call('GET', KEYS[1])\n"
    "if e ~= ARGV[1] then return {0, e or ''} end\n"
    APPEND_BODY
    "redis.call('SET', KEYS[4], ARGV[11], 'PX', ARGV[12])\n"
    "if ARGV[13] ~= '0' then\n"
    "  local m = redis.call('XRANGE', KEYS[3], ARGV[13] .. '-0', ARGV[13] .. '-0')\n"
    "  if m[1] then\n"
    "    local f = m[1][2]\n"
    "    for i = 1, #f, 2 do\n"
    "      if f[i] == 'y' and f[i + 1] == '0' then\n"
    "        redis.call('XDEL', KEYS[3], ARGV[13] .. '-0')\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return {id, e}\n";

/* The append made once (append_once): KEYS[4] its name; ARGV[11] how long
 * the name is kept (ms). Answers as the append, or {-1, epoch} when an
 * append of that name was kept already (by any gateway): nothing more is
 * kept. So an answer lost with its connection is asked again safely. */
static const char once_lua[] =
    "local e = redis.call('GET', KEYS[1])\n"
    "if e ~= ARGV[1] then return {0, e or ''} end\n"
    "if not redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[11]) then return {-1, e} end\n"
    APPEND_BODY
    "return {id, e}\n";

/* Forgetting a room (rs_forget). KEYS: the epoch, the room's hash, its
 * stream, the floor. ARGV: the epoch expected, the most events looked
 * through, the type of a leave. A room of the epoch expected, of at most
 * that many events, none with words, whose newest is a leave (someone
 * who came since stays), is deleted, hash and stream, and the floor
 * raised to its top, so that its ids are never given again. Answers 1
 * (forgotten) or 0 (kept). */
static const char forget_lua[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
    "if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end\n"
    "if redis.call('XLEN', KEYS[3]) > tonumber(ARGV[2]) then return 0 end\n"
    "local newest = true\n"
    "for _, e in ipairs(redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', ARGV[2])) do\n"
    "  for i = 1, #e[2], 2 do\n"
    "    local k, v = e[2][i], e[2][i + 1]\n"
    "    if k == 'x' and v ~= '' then return 0 end\n"
    "    if newest and k == 'y' and v ~= ARGV[3] then return 0 end\n"
    "  end\n"
    "  newest = false\n"
    "end\n"
    "local top = tonumber(redis.call('HGET', KEYS[2], 'top') or '0')\n"
    "if top > tonumber(redis.call('GET', KEYS[4]) or '0') then\n"
    "  redis.call('SET', KEYS[4], top)\n"
    "end\n"
    "redis.call('DEL', KEYS[2], KEYS[3])\n"
    "return 1\n";

/* The identity script. KEYS: the identity's hash ("nick", "top", "conn",
 * and "m<id>" for each private message kept). ARGV: its nick, its latest
 * private id, the time to live (ms), how many private messages it keeps,
 * its latest connection, then a private message's id and JSON, or
 * neither. */
static const char ident_lua[] =
    "redis.call('HSET', KEYS[1], 'nick', ARGV[1], 'conn', ARGV[5])\n"
    "local top = tonumber(redis.call('HGET', KEYS[1], 'top') or '0')\n"
    "if tonumber(ARGV[2]) > top then redis.call('HSET', KEYS[1], 'top', ARGV[2]) end\n"
    "if ARGV[6] then\n"
    "  redis.call('HSET', KEYS[1], 'm' .. ARGV[6], ARGV[7])\n"
    "  local old = tonumber(ARGV[6]) - tonumber(ARGV[4])\n"
    "  if old > 0 then redis.call('HDEL', KEYS[1], string.format('m%d', old)) end\n"
    "end\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
    "return 1\n";

/* The retention script. KEYS: a room's stream, its hash, the floor. ARGV:
 * the bound (ms since the Unix epoch), the batch. Deletes the stream's
 * first events older than the bound, at most the batch of them, up to the
 * first that is not (events are appended in time order); answers how
 * many, negative when that left nothing of the room: then its hash and
 * stream go too, the floor raised to its top (its next event, should
 * someone still be there, starts above it). */
static const char trim_lua[] =
    "local last = nil\n"
    "for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[2])) do\n"
    "  local t = nil\n"
    "  for i = 1, #e[2], 2 do\n"
    "    if e[2][i] == 't' then t = tonumber(e[2][i + 1]) break end\n"
    "  end\n"
    "  if not t or t >= tonumber(ARGV[1]) then break end\n"
    "  last = e[1]\n"
    "end\n"
    "if not last then return 0 end\n"
    "local id = tonumber(string.match(last, '^%d+'))\n"
    "local n = redis.call('XTRIM', KEYS[1], 'MINID', string.format('%d-0', id + 1))\n"
    "if redis.call('XLEN', KEYS[1]) > 0 then return n end\n"
    "local top = tonumber(redis.call('HGET', KEYS[2], 'top') or '0')\n"
    "if top > tonumber(redis.call('GET', KEYS[3]) or '0') then\n"
    "  redis.call('SET', KEYS[3], top)\n"
    "end\n"
    "redis.call('DEL', KEYS[1], KEYS[2])\n"
    "return -n\n";

/* ---- the account scripts (gw_store_redis.h says what each does) ---- */

/* The hex of an account's name, inside a script: the same as acct_key's. */
#define LUA_HEX                                                                              \
    "local function hex(s)\n"                                                                \
    "  return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) " \
    "end))\n"                                                                                \
    "end\n"

/* KEYS: the account's hash, the names' index. ARGV: key, nick, phc,
 * roles, generation, created_ms. Answers 1 (made) or 0 (the name is
 * taken). */
static const char acct_create_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'key', ARGV[1], 'nick', ARGV[2], 'phc', ARGV[3],\n"
    "           'roles', ARGV[4], 'generation', ARGV[5], 'created_ms', ARGV[6])\n"
    "redis.call('ZADD', KEYS[2], 0, ARGV[1])\n"
    "return 1\n";

/* KEYS: the account's hash. ARGV: nick, phc, roles, generation. Answers 1
 * or 0 (no such account). */
static const char acct_update_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'nick', ARGV[1], 'phc', ARGV[2], 'roles', ARGV[3],\n"
    "           'generation', ARGV[4])\n"
    "return 1\n";

/* KEYS: the account's hash, its sessions' set, the names' index. ARGV:
 * the sessions' key prefix, the account's name. Deletes its sessions
 * (those whose account is this one: a digest is never another's, but a
 * set never decides for a session), the set, the hash, its name in the
 * index. Answers 1, or 0 when there was no hash. */
static const char acct_remove_lua[] =
    "for _, d in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do\n"
    "  local s = ARGV[1] .. d\n"
    "  if redis.call('HGET', s, 'account') == ARGV[2] then redis.call('DEL', s) end\n"
    "end\n"
    "for _, r in ipairs(redis.call('HKEYS', KEYS[4])) do\n"
    "  redis.call('ZREM', ARGV[3] .. r, ARGV[2])\n"
    "end\n"
    "redis.call('DEL', KEYS[2], KEYS[4], KEYS[5])\n"
    "redis.call('ZREM', KEYS[3], ARGV[2])\n"
    "return redis.call('DEL', KEYS[1])\n";

/* KEYS: the account's hash, its rooms' hash, the room's members. ARGV:
 * the account's name, the room, in (1) or out (0), the bound. Answers 1,
 * 0 when the account is gone, 2 when it is in the bound's rooms already
 * and room is not one. */
static const char acct_room_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "if ARGV[3] == '0' then\n"
    "  redis.call('HDEL', KEYS[2], ARGV[2])\n"
    "  redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "  return 1\n"
    "end\n"
    "if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 1 end\n"
    "if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[4]) then return 2 end\n"
    "redis.call('HSET', KEYS[2], ARGV[2], '0')\n"
    "redis.call('ZADD', KEYS[3], 0, ARGV[1])\n"
    "return 1\n";

/* KEYS: the account's hash, its rooms' hash. Answers the rooms' hash
 * (HGETALL's array), or 0 when the account is gone. */
static const char acct_rooms_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "return redis.call('HGETALL', KEYS[2])\n";

/* KEYS: the account's hash, its rooms' hash. ARGV: the room, the id (in
 * decimal, as the ids kept: compared as such, longer is larger, since
 * Lua's numbers are exact only below 2^53). Answers 1, or 0 when the
 * account is gone or not in the room. */
static const char acct_mark_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "local v = redis.call('HGET', KEYS[2], ARGV[1])\n"
    "if not v then return 0 end\n"
    "if #ARGV[2] > #v or (#ARGV[2] == #v and ARGV[2] > v) then\n"
    "  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
    "end\n"
    "return 1\n";

/* KEYS: the account's hash, its messages' stream. ARGV: time, peer, out,
 * text, the bound. The next id from the account's hash (pm_top), the
 * entry "ID-0", the stream trimmed to the bound exactly. Answers the id,
 * or 0 when the account is gone. */
static const char acct_pm_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "local id = redis.call('HINCRBY', KEYS[1], 'pm_top', 1)\n"
    "redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[5], id .. '-0', 't', ARGV[1], 'p', ARGV[2],\n"
    "           'o', ARGV[3], 'x', ARGV[4])\n"
    "return id\n";

/* KEYS: the account's hash, its messages' stream. ARGV: after this id,
 * at most this many. Answers XRANGE's entries, or 0 when the account is
 * gone. */
static const char acct_pms_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "if ARGV[2] == '0' then return {} end\n"
    "return redis.call('XRANGE', KEYS[2], '(' .. ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])\n";

/* KEYS: the names' index, then account hashes a SCAN found. Puts the name
 * of each that is an account's hash in the index (one made before the
 * index was: see gw_store_redis.h). Answers how many. */
static const char acct_index_lua[] =
    "local n = 0\n"
    "for i = 2, #KEYS do\n"
    "  if redis.call('TYPE', KEYS[i]).ok == 'hash' then\n"
    "    local k = redis.call('HGET', KEYS[i], 'key')\n"
    "    if k then redis.call('ZADD', KEYS[1], 0, k) n = n + 1 end\n"
    "  end\n"
    "end\n"
    "return n\n";

/* KEYS: the account's hash, its sessions' set, the session. ARGV: the
 * account's name, the generation, the end (ms), the bound, the sessions'
 * key prefix, the digest. Answers 1, or 0 when the account is gone. */
static const char acct_keep_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('DEL', KEYS[3])\n"
    "redis.call('ZREM', KEYS[2], ARGV[6])\n"
    "local gen = redis.call('HGET', KEYS[1], 'generation')\n"
    "if ARGV[2] ~= gen then return 1 end\n"
    "for _, d in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do\n"
    "  local s = ARGV[5] .. d\n"
    "  local v = redis.call('HMGET', s, 'account', 'generation')\n"
    "  if v[1] ~= ARGV[1] then redis.call('ZREM', KEYS[2], d)\n"
    "  elseif v[2] ~= gen then redis.call('DEL', s) redis.call('ZREM', KEYS[2], d) end\n"
    "end\n"
    "redis.call('HSET', KEYS[3], 'account', ARGV[1], 'generation', ARGV[2],\n"
    "           'expires_ms', ARGV[3])\n"
    "redis.call('PEXPIREAT', KEYS[3], ARGV[3])\n"
    "if redis.call('EXISTS', KEYS[3]) == 0 then return 1 end\n"
    "local top = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')\n"
    "local n = 1\n"
    "if top[2] then n = tonumber(top[2]) + 1 end\n"
    "redis.call('ZADD', KEYS[2], n, ARGV[6])\n"
    "local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])\n"
    "if over > 0 then\n"
    "  for _, d in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do\n"
    "    redis.call('DEL', ARGV[5] .. d)\n"
    "  end\n"
    "  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)\n"
    "end\n"
    "return 1\n";

/* KEYS: the session. ARGV: now (ms), the accounts' key prefix. Answers
 * the account's hash (HGETALL's array), or 0. */
static const char acct_find_session_lua[] =
    LUA_HEX
    "local v = redis.call('HMGET', KEYS[1], 'account', 'generation', 'expires_ms')\n"
    "if not v[1] or not v[2] or not v[3] then return 0 end\n"
    "if tonumber(v[3]) <= tonumber(ARGV[1]) then return 0 end\n"
    "local a = ARGV[2] .. hex(v[1])\n"
    "if redis.call('HGET', a, 'generation') ~= v[2] then return 0 end\n"
    "return redis.call('HGETALL', a)\n";

/* KEYS: the session. ARGV: the accounts' key prefix, the digest. Answers
 * 1, or 0 when there was no session. */
static const char acct_drop_lua[] =
    LUA_HEX
    "local acc = redis.call('HGET', KEYS[1], 'account')\n"
    "if not acc then return 0 end\n"
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('ZREM', ARGV[1] .. hex(acc) .. ':sessions', ARGV[2])\n"
    "return 1\n";

#define LOG_PATTERN GW_RSTORE_PREFIX "room:*:log"

#define IDENT_KEY GW_RSTORE_PREFIX "ident:"
#define IDENT_KEY_MAX_BYTES (sizeof IDENT_KEY + GW_DIGEST_HEX_LEN)

/* Accounts: the prefix, the name in hex, ":sessions" for its set. */
#define ACCT_KEY GW_RSTORE_PREFIX "account:"
#define ACCT_KEY_MAX_BYTES (sizeof ACCT_KEY + 2 * GW_ACCOUNT_KEY_MAX_BYTES + sizeof ":sessions")
#define SESSION_KEY GW_RSTORE_PREFIX "session:"
/* SCAN's page: keys Redis looks at per call (it may give a few more);
 * account hashes put in the names' index by one script, at most. */
#define LIST_SCAN_COUNT "200"
#define LIST_SCAN_MAX 200u

/* The names' index, and the mark that it holds every account's name. */
#define NAMES_KEY GW_RSTORE_PREFIX "accounts"
#define NAMES_DONE_KEY GW_RSTORE_PREFIX "accounts:indexed"
/* A room's members (accounts), the room's key after it. */
#define MEMBERS_KEY GW_RSTORE_PREFIX "members:"
#define MEMBERS_KEY_MAX_BYTES (sizeof MEMBERS_KEY + GW_ACCOUNT_ROOM_MAX_BYTES)
#define SESSION_KEY_MAX_BYTES (sizeof SESSION_KEY + GW_DIGEST_HEX_LEN)

/* A key or channel: the prefix, "room:", a room key (gw_room.h), ":log". */
#define NAME_MAX_BYTES (sizeof GW_RSTORE_PREFIX + 5 + GW_ROOM_NAME_MAX_BYTES + 8)
#define ROOM_BUCKETS 1024u
#define PRESENCE_CHANNEL GW_RSTORE_PREFIX "presence"
#define GENERATIONS_CHANNEL GW_RSTORE_PREFIX "generations"
/* Rooms' configs: a room's hash, each list's ("RC_KEY room :l list"), the
 * gateway-wide bans', and the channel every change is told on. */
#define RC_KEY GW_RSTORE_PREFIX "roomcfg:"
#define GBANS_KEY GW_RSTORE_PREFIX "gbans"
#define ROOMCFG_CHANNEL GW_RSTORE_PREFIX "roomcfg"
#define NODES_KEY GW_RSTORE_PREFIX "nodes"
#define FLOOR_KEY GW_RSTORE_PREFIX "floor"
#define LIST_KEY GW_RSTORE_PREFIX "presence:"

/* A live event that waits while its room is read back. */
struct held {
    uint64_t id;
    size_t json_len, line_len;
    char bytes[];             /* json, then line */
};

struct room {
    struct room *next;        /* hash chain */
    char key[GW_ROOM_NAME_MAX_BYTES + 1];
    char name[GW_ROOM_NAME_MAX_BYTES + 1];
    char chan[NAME_MAX_BYTES]; /* also the hash's key */
    char log[NAME_MAX_BYTES];
    uint64_t last;            /* the last id given to the hub */
    uint64_t seen_top;        /* its top in Redis at the last position check */
    int reading;              /* a recovery read is out */
    int again;                /* read again when it is back */
    /* Its channel is subscribed (the events published from then on come
     * here); a read that ends after that has caught the room up, which
     * sink.ready says once (ready). */
    int subscribed, ready;
    struct held **held;
    size_t nheld, held_cap;
};

/* An append sent, until its done is reported: dones go to the hub in the
 * order the appends were sent (which keeps each room's order), and an
 * append whose answer was lost with its connection (UNSURE) holds back
 * those after it until this gateway's count of appends kept says whether
 * it was kept. */
enum { SENT = 100, UNSURE = 101 };
struct sent {
    char key[GW_ROOM_NAME_MAX_BYTES + 1];
    uint64_t seq;             /* the hub's, for done */
    int state;                /* SENT, UNSURE, or the gw_store_status to report */
};

/* An append made once (append_once), kept until Redis says it is kept
 * (by this gateway or another), the epoch changed, or it was tried for
 * GW_RSTORE_ONCE_TRY_MS. */
struct once {
    uint64_t seq;             /* names it for its answer */
    int sending;
    int64_t since;            /* the store's clock when taken */
    char name[sizeof GW_RSTORE_PREFIX + 5 + GW_STORE_ONCE_MAX_BYTES]; /* its key */
    char room[GW_ROOM_NAME_MAX_BYTES + 1], room_name[GW_ROOM_NAME_MAX_BYTES + 1];
    char epoch_hex[GW_EPOCH_HEX_LEN + 1]; /* the epoch it was asked in */
    char type[16], time[24];
    size_t pre_len, post_len, line_len, text_len;
    char bytes[];             /* the JSON before the id, after it, the line, the words */
};

struct gw_rstore {
    uv_loop_t *loop;
    struct gw_redis *redis;
    struct gw_redis_script *append;
    struct gw_redis_script *ident;
    struct gw_redis_script *trim;
    struct gw_redis_script *once_script;
    struct gw_redis_script *forget;
    /* accounts (gw_accounts.h): the scripts, the sink, the calls waiting */
    struct gw_redis_script *acct_create, *acct_update, *acct_remove, *acct_keep;
    struct gw_redis_script *acct_find_session, *acct_drop, *acct_index;
    struct gw_redis_script *acct_room, *acct_rooms, *acct_mark, *acct_pm, *acct_pms;
    struct gw_account_sink acct_sink;
    size_t acct_waiting;
    /* rooms' configs (gw_roomcfg.h): the scripts, the sink, the calls waiting */
    struct gw_redis_script *rc_hset_s, *rc_set_s, *rc_clear_s, *rc_load_s;
    struct gw_roomcfg_sink rc_sink;
    size_t rc_waiting;
    /* The names' index is known whole on this connection (keys is
     * refused until then); the connection's number, which a walk that
     * fills the index belongs to. */
    int names_whole;
    uint64_t conn_gen;
    /* retention: a pass of SCAN and trims, its bound, when it started */
    int scanning;
    int trim_again;           /* a trim found a full batch: another pass soon */
    int64_t retain_at;
    char cutoff[24];
    struct gw_store_sink sink;
    struct gw_rstore_opts o;
    char *url;
    char epoch_key[NAME_MAX_BYTES];
    uint64_t epoch;           /* 0: not known yet */
    char epoch_hex[GW_EPOCH_HEX_LEN + 1];
    int asking_epoch;
    int read_lists;           /* read the gateways' lists kept in Redis, once up */
    int redis_up;
    char why[GW_RSTORE_WHY_MAX_BYTES];
    struct room *buckets[ROOM_BUCKETS];
    size_t nrooms;
    int64_t last_check;
    char node_chan[NAME_MAX_BYTES]; /* private messages for this gateway ("" before listen) */
    char kept_key[NAME_MAX_BYTES + 24]; /* this gateway's count of appends kept */
    /* the append script's arguments that never change: the stream's
     * bound, how long the count is kept */
    char max_arg[16], kept_ttl_arg[16];
    /* appends sent and not reported: a ring, the oldest first; aseq
     * numbers them (the newest is aseq) */
    struct sent *sent;
    size_t sent_cap, sent_head, sent_n;
    uint64_t aseq;
    size_t unsure;            /* of those, UNSURE */
    int asking_kept;
    int64_t unsure_since;     /* the store's clock when the first went UNSURE (0: not yet) */
    /* appends made once (append_once), until Redis says they are kept */
    struct once **once;
    size_t nonce, once_cap;
    uint64_t once_seq;
    int64_t now;              /* the store's clock at the last tick (ms) */
    struct gw_rstore_stats stats;
    int closing;
};

/* ---- rooms ---- */

static size_t hash(const char *key)
{
    size_t x = 2166136261u;
    for (; *key; key++)
        x = (x ^ (unsigned char)*key) * 16777619u;
    return x & (ROOM_BUCKETS - 1);
}

static struct room *find(const struct gw_rstore *rs, const char *key)
{
    for (struct room *r = rs->buckets[hash(key)]; r; r = r->next)
        if (strcmp(r->key, key) == 0)
            return r;
    return NULL;
}

static void drop_held(struct room *r)
{
    for (size_t i = 0; i < r->nheld; i++)
        free(r->held[i]);
    free(r->held);
    r->held = NULL;
    r->nheld = r->held_cap = 0;
}

/* ---- giving events to the hub ---- */

/* One event, if it is the room's next (or past a gap the stream cannot
 * fill any more). */
static void give(struct gw_rstore *rs, struct room *r, uint64_t id, const char *json,
                 size_t json_len, const char *line, size_t line_len)
{
    if (id <= r->last)
        return;
    r->last = id;
    struct gw_store_event ev = {
        .id = id, .json = json, .json_len = json_len, .line = line, .line_len = line_len,
    };
    rs->stats.delivered++;
    if (rs->sink.event)
        rs->sink.event(rs->sink.ctx, r->key, &ev);
}

static void recover(struct gw_rstore *rs, struct room *r);

/* What one stream entry's field holds, or NULL. */
static const redisReply *field(const redisReply *fields, const char *name)
{
    if (!fields || fields->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, name) == 0)
            return fields->element[i + 1];
    }
    return NULL;
}

/* An entry of XRANGE's answer as an event; 0, or -1 when it is not one of
 * ours. */
static int entry_event(const redisReply *e, struct gw_store_event *ev)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return -1;
    char *end;
    uint64_t id = strtoull(e->element[0]->str, &end, 10);
    const redisReply *j = field(e->element[1], "j"), *l = field(e->element[1], "l");
    const redisReply *y = field(e->element[1], "y"), *t = field(e->element[1], "t");
    const redisReply *x = field(e->element[1], "x");
    if (!id || *end != '-' || !j || j->type != REDIS_REPLY_STRING || !l ||
        l->type != REDIS_REPLY_STRING)
        return -1;
    memset(ev, 0, sizeof *ev);
    ev->id = id;
    ev->json = j->str;
    ev->json_len = j->len;
    ev->line = l->str;
    ev->line_len = l->len;
    ev->type = y && y->type == REDIS_REPLY_STRING ? atoi(y->str) : 0;
    ev->time_ms = t && t->type == REDIS_REPLY_STRING ? strtoll(t->str, NULL, 10) : 0;
    if (x && x->type == REDIS_REPLY_STRING && x->len) {
        ev->text = x->str;
        ev->text_len = x->len;
    }
    return 0;
}

/* What a command about a room finds when its answer comes: the room by
 * its key (it may have been let go meanwhile) and the epoch it was asked
 * in (an answer of another epoch is of no use). */
struct room_arg {
    struct gw_rstore *rs;
    char key[GW_ROOM_NAME_MAX_BYTES + 1];
    uint64_t epoch;
};

static struct room_arg *room_arg_new(struct gw_rstore *rs, const struct room *r)
{
    struct room_arg *ra = malloc(sizeof *ra);
    if (ra) {
        ra->rs = rs;
        ra->epoch = rs->epoch;
        snprintf(ra->key, sizeof ra->key, "%s", r->key);
    }
    return ra;
}

/* A recovery read is back: its events, then those held meanwhile. */
static void on_recovered(void *arg, int status, const redisReply *reply)
{
    struct room_arg *ra = arg;
    struct gw_rstore *rs = ra->rs;
    struct room *r = rs->closing ? NULL : find(rs, ra->key);
    int stale = ra->epoch != rs->epoch;
    free(ra);
    if (!r)
        return;
    r->reading = 0;
    if (stale) {
        drop_held(r);
        return;
    }
    if (status != GW_REDIS_OK || reply->type != REDIS_REPLY_ARRAY) {
        /* The connection went: the resubscription recovers the room. */
        drop_held(r);
        return;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        struct gw_store_event ev;
        if (entry_event(reply->element[i], &ev) == 0) {
            rs->stats.recovered += ev.id > r->last;
            give(rs, r, ev.id, ev.json, ev.json_len, ev.line, ev.line_len);
        }
    }
    if (reply->elements >= GW_RSTORE_READ_BATCH || r->again) {
        /* More behind, or live events were dropped: read on from here. */
        r->again = 0;
        drop_held(r);
        recover(rs, r);
        return;
    }
    for (size_t i = 0; i < r->nheld; i++) {
        struct held *h = r->held[i];
        give(rs, r, h->id, h->bytes, h->json_len, h->bytes + h->json_len, h->line_len);
    }
    drop_held(r);
    /* Read to the end while its channel was listened to: nothing kept
     * before now is missing any more. A read begun before the channel was
     * subscribed does not count: the subscription reads again. */
    if (r->subscribed && !r->ready) {
        r->ready = 1;
        if (rs->sink.ready)
            rs->sink.ready(rs->sink.ctx, r->key);
    }
}

/* Read the room from its stream: after its last id, or, for a room just
 * watched with nothing given yet, its latest events. */
static void recover(struct gw_rstore *rs, struct room *r)
{
    if (r->reading || !rs->epoch || !rs->redis_up)
        return;
    struct room_arg *ra = room_arg_new(rs, r);
    if (!ra)
        return;
    char from[32], count[16];
    snprintf(count, sizeof count, "%u", GW_RSTORE_READ_BATCH);
    int rc;
    if (r->last) {
        snprintf(from, sizeof from, "(%" PRIu64 "-0", r->last);
        const char *argv[] = {"XRANGE", r->log, from, "+", "COUNT", count};
        size_t len[] = {6, strlen(r->log), strlen(from), 1, 5, strlen(count)};
        rc = gw_redis_command(rs->redis, on_recovered, ra, 6, argv, len);
    } else {
        /* The latest, oldest first: a script reverses XREVRANGE's. */
        static const char latest[] =
            "local t = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])\n"
            "local o = {}\n"
            "for i = #t, 1, -1 do o[#o + 1] = t[i] end\n"
            "return o\n";
        const char *argv[] = {"EVAL", latest, "1", r->log, count};
        size_t len[] = {4, sizeof latest - 1, 1, strlen(r->log), strlen(count)};
        rc = gw_redis_command(rs->redis, on_recovered, ra, 5, argv, len);
    }
    if (rc != 0) {
        free(ra);
        return;
    }
    r->reading = 1;
    rs->stats.recoveries++;
}

/* ---- the live path ---- */

static void hold(struct room *r, uint64_t id, const char *json, size_t jlen, const char *line,
                 size_t llen)
{
    if (r->nheld >= GW_RSTORE_HELD_MAX) {
        r->again = 1;
        return;
    }
    if (r->nheld == r->held_cap) {
        size_t cap = r->held_cap ? r->held_cap * 2 : 16;
        struct held **n = realloc(r->held, cap * sizeof *n);
        if (!n) {
            r->again = 1;
            return;
        }
        r->held = n;
        r->held_cap = cap;
    }
    struct held *h = malloc(sizeof *h + jlen + llen);
    if (!h) {
        r->again = 1;
        return;
    }
    h->id = id;
    h->json_len = jlen;
    h->line_len = llen;
    memcpy(h->bytes, json, jlen);
    memcpy(h->bytes + jlen, line, llen);
    r->held[r->nheld++] = h;
}

/* The decimal number of a payload at *i, up to the space after it (which
 * *i then passes). Returns 0 when there is none: not one of ours. */
static uint64_t payload_number(const char *p, size_t n, size_t *i)
{
    uint64_t v = 0;
    size_t start = *i;
    while (*i < n && p[*i] >= '0' && p[*i] <= '9' && *i - start < 20)
        v = v * 10 + (uint64_t)(p[(*i)++] - '0');
    if (*i == start || *i >= n || p[*i] != ' ')
        return 0;
    (*i)++;
    return v;
}

/* "E" id " " json-length " " json line */
static void on_event(struct gw_rstore *rs, struct room *r, const char *p, size_t n)
{
    size_t i = 1;
    uint64_t id = payload_number(p, n, &i);
    size_t jlen = (size_t)payload_number(p, n, &i);
    if (!id || !jlen || jlen > n - i)
        return; /* not one of ours */
    const char *json = p + i, *line = p + i + jlen;
    size_t llen = n - i - jlen;
    if (r->reading) {
        if (id > r->last)
            hold(r, id, json, jlen, line, llen);
        return;
    }
    if (id <= r->last)
        return;
    if (id == r->last + 1) {
        give(rs, r, id, json, jlen, line, llen);
        return;
    }
    /* A gap: what lies between is in the stream. */
    hold(r, id, json, jlen, line, llen);
    recover(rs, r);
    if (!r->reading)
        drop_held(r);
}

/* "T" from " " json */
static void on_typing(struct gw_rstore *rs, struct room *r, const char *p, size_t n)
{
    size_t i = 1;
    uint64_t from = payload_number(p, n, &i);
    if (from && rs->sink.typing)
        rs->sink.typing(rs->sink.ctx, r->key, from, p + i, n - i);
}

/* "S" node " " list: another gateway's participants. */
static void on_presence(struct gw_rstore *rs, const char *p, size_t n)
{
    size_t i = 1;
    uint64_t node = n ? payload_number(p, n, &i) : 0;
    if (node && p[0] == 'S' && rs->sink.presence)
        rs->sink.presence(rs->sink.ctx, node, p + i, n - i);
}

/* "G" generation " " why " " key: a gateway moved an account's generation
 * on (moved). */
static void on_generation(struct gw_rstore *rs, const char *p, size_t n)
{
    size_t i = 1;
    uint64_t gen = n && p[0] == 'G' ? payload_number(p, n, &i) : 0;
    uint64_t why = gen ? payload_number(p, n, &i) : 0;
    size_t len = n - i;
    if (!gen || !why || why > INT_MAX || !len || len > GW_ACCOUNT_KEY_MAX_BYTES ||
        memchr(p + i, '\0', len) || !rs->acct_sink.moved)
        return; /* not one of ours */
    char key[GW_ACCOUNT_KEY_MAX_BYTES + 1];
    memcpy(key, p + i, len);
    key[len] = '\0';
    rs->acct_sink.moved(rs->acct_sink.ctx, key, gen, (int)why);
}

static void on_roomcfg_notice(struct gw_rstore *rs, const char *p, size_t n);

static void on_message(void *arg, const char *channel, size_t clen, const char *payload,
                       size_t plen)
{
    struct gw_rstore *rs = arg;
    if (clen == strlen(PRESENCE_CHANNEL) && memcmp(channel, PRESENCE_CHANNEL, clen) == 0) {
        on_presence(rs, payload, plen);
        return;
    }
    if (clen == strlen(GENERATIONS_CHANNEL) && memcmp(channel, GENERATIONS_CHANNEL, clen) == 0) {
        on_generation(rs, payload, plen);
        return;
    }
    if (clen == strlen(ROOMCFG_CHANNEL) && memcmp(channel, ROOMCFG_CHANNEL, clen) == 0) {
        on_roomcfg_notice(rs, payload, plen);
        return;
    }
    if (rs->node_chan[0] && clen == strlen(rs->node_chan) &&
        memcmp(channel, rs->node_chan, clen) == 0) {
        if (plen > 1 && payload[0] == 'M' && rs->sink.private_in)
            rs->sink.private_in(rs->sink.ctx, payload + 1, plen - 1);
        return;
    }
    size_t pre = strlen(GW_RSTORE_PREFIX "room:");
    if (clen <= pre || clen - pre > GW_ROOM_NAME_MAX_BYTES || !plen)
        return;
    char key[GW_ROOM_NAME_MAX_BYTES + 1];
    memcpy(key, channel + pre, clen - pre);
    key[clen - pre] = '\0';
    struct room *r = find(rs, key);
    if (!r || !rs->epoch)
        return;
    if (payload[0] == 'E')
        on_event(rs, r, payload, plen);
    else if (payload[0] == 'T')
        on_typing(rs, r, payload, plen);
}

/* ---- the epoch ---- */

static void recover_all(struct gw_rstore *rs)
{
    for (size_t b = 0; b < ROOM_BUCKETS; b++)
        for (struct room *r = rs->buckets[b]; r; r = r->next)
            recover(rs, r);
}

/* Every channel is subscribed (the subscription connection is up): a read
 * out now may have begun before, so it reads again. */
static void all_subscribed(struct gw_rstore *rs)
{
    for (size_t b = 0; b < ROOM_BUCKETS; b++)
        for (struct room *r = rs->buckets[b]; r; r = r->next) {
            if (!r->subscribed && r->reading)
                r->again = 1;
            r->subscribed = 1;
        }
}

static void on_epoch(void *arg, int status, const redisReply *reply);
static struct sent *sent_at(struct gw_rstore *rs, size_t i);
static void flush_sent(struct gw_rstore *rs);
static void read_lists(struct gw_rstore *rs);
static void once_flush(struct gw_rstore *rs);
static void ask_kept(struct gw_rstore *rs);

/* Learn the epoch, making one when Redis has none. */
static void ask_epoch(struct gw_rstore *rs)
{
    if (rs->asking_epoch || !rs->redis_up)
        return;
    unsigned char rnd[8];
    uint64_t e = 0;
    if (RAND_bytes(rnd, sizeof rnd) == 1)
        for (int i = 0; i < 8; i++)
            e = e << 8 | rnd[i];
    if (!e)
        e = 1;
    char hex[GW_EPOCH_HEX_LEN + 1];
    snprintf(hex, sizeof hex, "%016" PRIx64, e);
    /* SET NX then GET, in one script: the first gateway's epoch wins. */
    static const char lua[] = "redis.call('SET', KEYS[1], ARGV[1], 'NX')\n"
                              "return redis.call('GET', KEYS[1])\n";
    const char *argv[] = {"EVAL", lua, "1", rs->epoch_key, hex};
    size_t len[] = {4, sizeof lua - 1, 1, strlen(rs->epoch_key), strlen(hex)};
    if (gw_redis_command(rs->redis, on_epoch, rs, 5, argv, len) == 0)
        rs->asking_epoch = 1;
}

static void on_epoch(void *arg, int status, const redisReply *reply)
{
    struct gw_rstore *rs = arg;
    rs->asking_epoch = 0;
    if (rs->closing || status != GW_REDIS_OK || reply->type != REDIS_REPLY_STRING ||
        reply->len != GW_EPOCH_HEX_LEN)
        return; /* asked again at the next connect or tick */
    uint64_t e = strtoull(reply->str, NULL, 16);
    if (rs->read_lists) {
        rs->read_lists = 0;
        read_lists(rs);
    }
    if (e == rs->epoch) {
        once_flush(rs); /* what waited for Redis to be back */
        return;
    }
    int changed = rs->epoch != 0;
    if (changed) {
        /* Nothing of the old epoch is kept: every append still waiting for
         * its answer (sent, or lost with its connection) is reported lost
         * now, before the hub hears of the new epoch and closes its
         * browsers, so that each sender gets its 451 ahead of the close. */
        for (size_t i = 0; i < rs->sent_n; i++)
            sent_at(rs, i)->state = GW_STORE_EIO;
        rs->unsure = 0;
        rs->unsure_since = 0;
        flush_sent(rs);
    }
    rs->epoch = e;
    memcpy(rs->epoch_hex, reply->str, GW_EPOCH_HEX_LEN);
    rs->epoch_hex[GW_EPOCH_HEX_LEN] = '\0';
    if (changed) {
        rs->stats.epochs++;
        if (rs->o.log) {
            char line[96];
            snprintf(line, sizeof line, "redis: a new epoch %s: its history starts again",
                     rs->epoch_hex);
            rs->o.log(rs->o.arg, line);
        }
    }
    /* Ids of the new epoch start again: the rooms are read from scratch. */
    for (size_t b = 0; b < ROOM_BUCKETS; b++)
        for (struct room *r = rs->buckets[b]; r; r = r->next) {
            r->last = 0;
            r->seen_top = 0;
            r->reading = 0;
            r->again = 0;
            drop_held(r);
        }
    if (rs->o.epoch)
        rs->o.epoch(rs->o.arg, e);
    recover_all(rs);
    once_flush(rs); /* those of the old epoch go */
}

/* ---- the connection ---- */

static void names_check(struct gw_rstore *rs);

static void on_state(void *arg, int up, const char *why)
{
    struct gw_rstore *rs = arg;
    rs->redis_up = up;
    snprintf(rs->why, sizeof rs->why, "%s", up ? "" : why);
    if (up) {
        all_subscribed(rs);
        rs->read_lists = 1; /* with the epoch's answer */
        ask_epoch(rs);
        ask_kept(rs);
        names_check(rs);
    }
}

static void on_resubscribed(void *arg)
{
    struct gw_rstore *rs = arg;
    /* Events published while it was away came nowhere: read them. */
    all_subscribed(rs);
    ask_epoch(rs);
    recover_all(rs);
    /* Nor did news of sessions ended: the hub looks at its accounts. */
    if (rs->acct_sink.moved)
        rs->acct_sink.moved(rs->acct_sink.ctx, NULL, 0, 0);
    /* Nor did news of rooms' configs. */
    if (rs->rc_sink.changed)
        rs->rc_sink.changed(rs->rc_sink.ctx, NULL, 0);
}

/* A room's channel is subscribed: what was published to it between the
 * read that began its watch and now came nowhere; read on from the last
 * event given (or again once the read out is back). */
static void on_subscribed(void *arg, const char *channel, size_t len)
{
    struct gw_rstore *rs = arg;
    size_t pre = strlen(GW_RSTORE_PREFIX "room:");
    if (rs->closing || len <= pre || len - pre > GW_ROOM_NAME_MAX_BYTES ||
        memcmp(channel, GW_RSTORE_PREFIX "room:", pre) != 0)
        return;
    char key[GW_ROOM_NAME_MAX_BYTES + 1];
    memcpy(key, channel + pre, len - pre);
    key[len - pre] = '\0';
    struct room *r = find(rs, key);
    if (!r)
        return;
    r->subscribed = 1;
    if (r->reading)
        r->again = 1;
    else
        recover(rs, r);
}

static void on_log(void *arg, const char *line)
{
    struct gw_rstore *rs = arg;
    if (rs->o.log)
        rs->o.log(rs->o.arg, line);
}

/* ---- the interface (gw_store.h) ---- */

struct append_arg {
    struct gw_rstore *rs;
    uint64_t aseq;
};

static void report_done(struct gw_rstore *rs, const char *key, uint64_t seq, int status)
{
    if (status < 0)
        rs->stats.refused++;
    else
        rs->stats.appended++;
    if (rs->sink.done)
        rs->sink.done(rs->sink.ctx, key, seq, status);
}

/* The number of the oldest append not reported (the others follow it). */
static uint64_t first_aseq(const struct gw_rstore *rs)
{
    return rs->aseq - rs->sent_n + 1;
}

static struct sent *sent_at(struct gw_rstore *rs, size_t i)
{
    return &rs->sent[(rs->sent_head + i) % rs->sent_cap];
}

/* Room for one more append sent. Returns 0 or -1 (out of memory). */
static int sent_room(struct gw_rstore *rs)
{
    if (rs->sent_n < rs->sent_cap)
        return 0;
    size_t cap = rs->sent_cap ? rs->sent_cap * 2 : 256;
    struct sent *n = malloc(cap * sizeof *n);
    if (!n)
        return -1;
    for (size_t i = 0; i < rs->sent_n; i++)
        n[i] = *sent_at(rs, i);
    free(rs->sent);
    rs->sent = n;
    rs->sent_cap = cap;
    rs->sent_head = 0;
    return 0;
}

/* Report the dones known, oldest first, up to the first not known. */
static void flush_sent(struct gw_rstore *rs)
{
    while (rs->sent_n && !rs->closing) {
        struct sent *e = sent_at(rs, 0);
        if (e->state == SENT || e->state == UNSURE)
            return;
        struct sent done = *e;
        rs->sent_head = (rs->sent_head + 1) % rs->sent_cap;
        rs->sent_n--;
        report_done(rs, done.key, done.seq, done.state);
    }
}

/* Every UNSURE append: kept when its number is at most kept. */
static void settle_unsure(struct gw_rstore *rs, uint64_t kept, int all_lost)
{
    for (size_t i = 0; i < rs->sent_n; i++) {
        struct sent *e = sent_at(rs, i);
        if (e->state == UNSURE)
            e->state = !all_lost && first_aseq(rs) + i <= kept ? GW_STORE_DONE : GW_STORE_EIO;
    }
    rs->unsure = 0;
    rs->unsure_since = 0;
    flush_sent(rs);
}

static void on_kept(void *arg, int status, const redisReply *reply)
{
    struct gw_rstore *rs = arg;
    rs->asking_kept = 0;
    if (rs->closing || !rs->unsure)
        return;
    if (status == GW_REDIS_OK && reply->type == REDIS_REPLY_NIL)
        settle_unsure(rs, 0, 0); /* none kept (or Redis lost its data) */
    else if (status == GW_REDIS_OK && reply->type == REDIS_REPLY_STRING)
        settle_unsure(rs, strtoull(reply->str, NULL, 10), 0);
    /* else: asked again when Redis is back, or given up (gw_rstore_tick) */
}

/* Ask how many of this gateway's appends Redis kept, to settle the
 * UNSURE ones. */
static void ask_kept(struct gw_rstore *rs)
{
    if (!rs->unsure || rs->asking_kept || !rs->redis_up)
        return;
    const char *argv[] = {"GET", rs->kept_key};
    size_t len[] = {3, strlen(rs->kept_key)};
    if (gw_redis_command(rs->redis, on_kept, rs, 2, argv, len) == 0)
        rs->asking_kept = 1;
}

static void on_appended(void *arg, int status, const redisReply *reply)
{
    struct append_arg *aa = arg;
    struct gw_rstore *rs = aa->rs;
    uint64_t aseq = aa->aseq;
    free(aa);
    if (rs->closing || aseq < first_aseq(rs) || aseq > rs->aseq)
        return;
    struct sent *e = sent_at(rs, (size_t)(aseq - first_aseq(rs)));
    e->state = GW_STORE_EIO;
    if (status == GW_REDIS_OK && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER) {
        if (reply->element[0]->integer > 0)
            e->state = GW_STORE_DONE;
        else
            ask_epoch(rs); /* another epoch: nothing kept; learn it */
    } else if (status == GW_REDIS_ECLOSED || status == GW_REDIS_ETIMEDOUT) {
        /* Sent, and the answer lost with the connection: the script may
         * have run. Settled when Redis is back (ask_kept). */
        e->state = UNSURE;
        rs->unsure++;
    }
    flush_sent(rs);
}

static int rs_append(void *ctx, const char *room_key, const char *room_name,
                     const struct gw_store_event *ev)
{
    struct gw_rstore *rs = ctx;
    struct room *r = find(rs, room_key);
    if (!rs->redis_up || !rs->epoch || !r)
        return GW_STORE_EIO;
    if (ev->id_at + ev->id_len > ev->json_len)
        return GW_STORE_EINVAL;
    struct append_arg *aa = malloc(sizeof *aa);
    if (!aa || sent_room(rs) != 0) {
        free(aa);
        return GW_STORE_ENOMEM;
    }
    aa->rs = rs;
    aa->aseq = rs->aseq + 1;
    char type[16], time[24], aseq[24], deletes[24];
    snprintf(type, sizeof type, "%d", ev->type);
    snprintf(time, sizeof time, "%" PRId64, ev->time_ms);
    snprintf(aseq, sizeof aseq, "%" PRIu64, aa->aseq);
    snprintf(deletes, sizeof deletes, "%" PRIu64, ev->deletes);
    const char *argv[] = {
        "", rs->epoch_key, r->chan, r->log, rs->kept_key, FLOOR_KEY, rs->epoch_hex, ev->json,
        ev->json + ev->id_at + ev->id_len, ev->line, type, time, ev->text ? ev->text : "",
        rs->max_arg, r->chan, room_name, aseq, rs->kept_ttl_arg, deletes,
    };
    size_t len[] = {
        0, strlen(rs->epoch_key), strlen(r->chan), strlen(r->log), strlen(rs->kept_key),
        strlen(FLOOR_KEY), GW_EPOCH_HEX_LEN, ev->id_at, ev->json_len - ev->id_at - ev->id_len, ev->line_len,
        strlen(type), strlen(time), ev->text ? ev->text_len : 0, strlen(rs->max_arg),
        strlen(r->chan), strlen(room_name), strlen(aseq), strlen(rs->kept_ttl_arg),
        strlen(deletes),
    };
    /* argv[0] is EVALSHA's, which gw_redis_eval writes itself. */
    int rc = gw_redis_eval(rs->redis, rs->append, on_appended, aa, 5, 18, argv + 1, len + 1);
    if (rc != 0) {
        free(aa);
        rs->stats.refused++;
        return rc == GW_REDIS_EBUSY ? GW_STORE_EBUSY : GW_STORE_EIO;
    }
    rs->aseq++;
    struct sent *e = sent_at(rs, rs->sent_n++);
    snprintf(e->key, sizeof e->key, "%s", room_key);
    e->seq = ev->id;
    e->state = SENT;
    return GW_STORE_PENDING;
}

/* ---- appends made once ---- */

static void once_drop(struct gw_rstore *rs, size_t i)
{
    free(rs->once[i]);
    rs->once[i] = rs->once[--rs->nonce];
}

static void once_send(struct gw_rstore *rs, struct once *o);

static void on_once(void *arg, int status, const redisReply *reply)
{
    struct append_arg *aa = arg;
    struct gw_rstore *rs = aa->rs;
    uint64_t seq = aa->aseq;
    free(aa);
    if (rs->closing)
        return;
    size_t i = 0;
    while (i < rs->nonce && rs->once[i]->seq != seq)
        i++;
    if (i == rs->nonce)
        return;
    rs->once[i]->sending = 0;
    if (status != GW_REDIS_OK || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER)
        return; /* lost with its connection, or refused: tried again (gw_rstore_tick) */
    long long id = reply->element[0]->integer;
    if (id > 0)
        rs->stats.appended++;
    else if (id == 0)
        ask_epoch(rs); /* another epoch: the event belongs to none */
    /* Kept now, kept already, or of an epoch gone: done with it. */
    once_drop(rs, i);
}

static void once_send(struct gw_rstore *rs, struct once *o)
{
    struct append_arg *aa = malloc(sizeof *aa);
    if (!aa)
        return;
    aa->rs = rs;
    aa->aseq = o->seq;
    char chan[NAME_MAX_BYTES], log[NAME_MAX_BYTES], ttl[16];
    snprintf(chan, sizeof chan, GW_RSTORE_PREFIX "room:%s", o->room);
    snprintf(log, sizeof log, GW_RSTORE_PREFIX "room:%s:log", o->room);
    snprintf(ttl, sizeof ttl, "%u", GW_RSTORE_ONCE_TTL_MS);
    const char *b = o->bytes;
    const char *argv[] = {
        rs->epoch_key, chan, log, o->name, FLOOR_KEY, o->epoch_hex, b, b + o->pre_len,
        b + o->pre_len + o->post_len, o->type, o->time,
        b + o->pre_len + o->post_len + o->line_len, rs->max_arg, chan, o->room_name, ttl,
    };
    size_t len[] = {
        strlen(rs->epoch_key), strlen(chan), strlen(log), strlen(o->name), strlen(FLOOR_KEY),
        GW_EPOCH_HEX_LEN,
        o->pre_len, o->post_len, o->line_len, strlen(o->type), strlen(o->time), o->text_len,
        strlen(rs->max_arg), strlen(chan), strlen(o->room_name), strlen(ttl),
    };
    if (gw_redis_eval(rs->redis, rs->once_script, on_once, aa, 5, 16, argv, len) != 0) {
        free(aa);
        return; /* down or busy: tried again (gw_rstore_tick) */
    }
    o->sending = 1;
}

/* Send every append made once that waits; give up those of another epoch
 * and those tried for too long. */
static void once_flush(struct gw_rstore *rs)
{
    for (size_t i = rs->nonce; i-- > 0;) {
        struct once *o = rs->once[i];
        if (o->sending)
            continue;
        if (rs->epoch && strcmp(o->epoch_hex, rs->epoch_hex) != 0) {
            once_drop(rs, i); /* Redis lost its data: nothing of it is to be said */
            continue;
        }
        if (!o->since) /* taken before the store's first tick */
            o->since = rs->now;
        if (rs->now - o->since >= (int64_t)GW_RSTORE_ONCE_TRY_MS) {
            if (rs->o.log) {
                char line[GW_RSTORE_WHY_MAX_BYTES];
                snprintf(line, sizeof line,
                         "redis: an event of %s (%s) could not be kept in %u s: given up",
                         o->room_name, o->name + strlen(GW_RSTORE_PREFIX "once:"),
                         GW_RSTORE_ONCE_TRY_MS / 1000);
                rs->o.log(rs->o.arg, line);
            }
            rs->stats.refused++;
            once_drop(rs, i);
            continue;
        }
        if (rs->redis_up && rs->epoch)
            once_send(rs, o);
    }
}

static int rs_append_once(void *ctx, const char *room_key, const char *room_name,
                          const struct gw_store_event *ev, const char *once)
{
    struct gw_rstore *rs = ctx;
    size_t nlen = once ? strlen(once) : 0;
    if (!nlen || nlen > GW_STORE_ONCE_MAX_BYTES || strlen(room_key) > GW_ROOM_NAME_MAX_BYTES ||
        strlen(room_name) > GW_ROOM_NAME_MAX_BYTES || ev->id_at + ev->id_len > ev->json_len)
        return GW_STORE_EINVAL;
    for (size_t i = 0; i < nlen; i++)
        if (once[i] < '!' || once[i] > '~')
            return GW_STORE_EINVAL;
    if (!rs->epoch)
        return GW_STORE_EIO;
    if (rs->nonce >= GW_RSTORE_ONCE_MAX)
        return GW_STORE_EBUSY;
    if (rs->nonce == rs->once_cap) {
        size_t cap = rs->once_cap ? rs->once_cap * 2 : 64;
        struct once **n = realloc(rs->once, cap * sizeof *n);
        if (!n)
            return GW_STORE_ENOMEM;
        rs->once = n;
        rs->once_cap = cap;
    }
    size_t pre = ev->id_at, post = ev->json_len - ev->id_at - ev->id_len;
    size_t text = ev->text ? ev->text_len : 0;
    struct once *o = calloc(1, sizeof *o + pre + post + ev->line_len + text);
    if (!o)
        return GW_STORE_ENOMEM;
    o->seq = ++rs->once_seq;
    o->since = rs->now;
    snprintf(o->name, sizeof o->name, GW_RSTORE_PREFIX "once:%s", once);
    snprintf(o->room, sizeof o->room, "%s", room_key);
    snprintf(o->room_name, sizeof o->room_name, "%s", room_name);
    memcpy(o->epoch_hex, rs->epoch_hex, sizeof o->epoch_hex);
    snprintf(o->type, sizeof o->type, "%d", ev->type);
    snprintf(o->time, sizeof o->time, "%" PRId64, ev->time_ms);
    o->pre_len = pre;
    o->post_len = post;
    o->line_len = ev->line_len;
    o->text_len = text;
    memcpy(o->bytes, ev->json, pre);
    memcpy(o->bytes + pre, ev->json + ev->id_at + ev->id_len, post);
    memcpy(o->bytes + pre + post, ev->line, ev->line_len);
    if (text)
        memcpy(o->bytes + pre + post + ev->line_len, ev->text, text);
    rs->once[rs->nonce++] = o;
    if (rs->redis_up)
        once_send(rs, o);
    return 0;
}

static int rs_watch(void *ctx, const char *room_key, const char *room_name, uint64_t after)
{
    struct gw_rstore *rs = ctx;
    if (strlen(room_key) > GW_ROOM_NAME_MAX_BYTES || strlen(room_name) > GW_ROOM_NAME_MAX_BYTES)
        return GW_STORE_EINVAL;
    struct room *r = find(rs, room_key);
    if (r)
        return 0;
    if (rs->nrooms >= GW_RSTORE_ROOMS_MAX)
        return GW_STORE_EBUSY;
    r = calloc(1, sizeof *r);
    if (!r)
        return GW_STORE_ENOMEM;
    snprintf(r->key, sizeof r->key, "%s", room_key);
    snprintf(r->name, sizeof r->name, "%s", room_name);
    snprintf(r->chan, sizeof r->chan, GW_RSTORE_PREFIX "room:%s", room_key);
    snprintf(r->log, sizeof r->log, GW_RSTORE_PREFIX "room:%s:log", room_key);
    r->last = after;
    if (gw_redis_subscribe(rs->redis, r->chan, strlen(r->chan)) != 0) {
        free(r);
        return GW_STORE_ENOMEM;
    }
    size_t b = hash(room_key);
    r->next = rs->buckets[b];
    rs->buckets[b] = r;
    rs->nrooms++;
    recover(rs, r);
    return 0;
}

static void rs_unwatch(void *ctx, const char *room_key)
{
    struct gw_rstore *rs = ctx;
    for (struct room **pp = &rs->buckets[hash(room_key)]; *pp; pp = &(*pp)->next) {
        struct room *r = *pp;
        if (strcmp(r->key, room_key) != 0)
            continue;
        *pp = r->next;
        (void)gw_redis_unsubscribe(rs->redis, r->chan, strlen(r->chan));
        drop_held(r);
        free(r);
        rs->nrooms--;
        return;
    }
}

static void on_forgot(void *arg, int status, const redisReply *reply)
{
    struct gw_rstore *rs = arg;
    if (status == GW_REDIS_OK && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
        rs->stats.forgotten++;
}

static void rs_forget(void *ctx, const char *room_key)
{
    struct gw_rstore *rs = ctx;
    if (!rs->redis_up || !rs->epoch || strlen(room_key) > GW_ROOM_NAME_MAX_BYTES)
        return; /* kept: forgetting is tidying, never owed */
    char chan[NAME_MAX_BYTES], log[NAME_MAX_BYTES], most[16], leave[8];
    snprintf(chan, sizeof chan, GW_RSTORE_PREFIX "room:%s", room_key);
    snprintf(log, sizeof log, GW_RSTORE_PREFIX "room:%s:log", room_key);
    snprintf(most, sizeof most, "%u", GW_RSTORE_FORGET_EVENTS_MAX);
    snprintf(leave, sizeof leave, "%d", GW_EV_LEAVE);
    const char *argv[] = {rs->epoch_key, chan, log, FLOOR_KEY, rs->epoch_hex, most, leave};
    size_t len[] = {strlen(rs->epoch_key), strlen(chan), strlen(log), strlen(FLOOR_KEY),
                    GW_EPOCH_HEX_LEN, strlen(most), strlen(leave)};
    /* On the connection the room's leave went out on, after it. */
    (void)gw_redis_eval(rs->redis, rs->forget, on_forgot, rs, 4, 7, argv, len);
}

static void on_published(void *arg, int status, const redisReply *reply)
{
    (void)arg;
    (void)status;
    (void)reply; /* typing is kept nowhere: a lost one is only lost */
}

/* PUBLISH to channel a payload of ours: the kind (a letter), the number
 * (a sender, a node; none for 0) and a space, then json. Kept nowhere: the
 * answer is not waited for. Returns 0 or a gw_store_status. */
static int publish(struct gw_rstore *rs, const char *channel, char kind, uint64_t num,
                   const char *json, size_t len)
{
    if (!rs->redis_up)
        return GW_STORE_EIO;
    size_t n = len + 32;
    char *msg = malloc(n);
    if (!msg)
        return GW_STORE_ENOMEM;
    int k = num ? snprintf(msg, n, "%c%" PRIu64 " ", kind, num) : snprintf(msg, n, "%c", kind);
    memcpy(msg + k, json, len);
    const char *argv[] = {"PUBLISH", channel, msg};
    size_t alen[] = {7, strlen(channel), (size_t)k + len};
    int rc = gw_redis_command(rs->redis, on_published, NULL, 3, argv, alen);
    free(msg);
    return rc == 0 ? 0 : GW_STORE_EIO;
}

static int rs_publish(void *ctx, const char *room_key, uint64_t from, const char *json,
                      size_t len)
{
    struct gw_rstore *rs = ctx;
    struct room *r = find(rs, room_key);
    return r ? publish(rs, r->chan, 'T', from, json, len) : GW_STORE_EIO;
}

/* The lists kept in Redis: those of the gateways still there, to a gateway
 * that has just come (it need not wait for their next beat), each with
 * the time it has left to live (which says how old it is). */
static const char lists_lua[] =
    "local out = {}\n"
    "for _, n in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  local l = redis.call('GET', ARGV[1] .. n)\n"
    "  if l then\n"
    "    out[#out + 1] = n; out[#out + 1] = l\n"
    "    out[#out + 1] = redis.call('PTTL', ARGV[1] .. n)\n"
    "  else redis.call('SREM', KEYS[1], n) end\n"
    "end\n"
    "return out\n";

static void on_lists(void *arg, int status, const redisReply *reply)
{
    struct gw_rstore *rs = arg;
    if (rs->closing || status != GW_REDIS_OK || reply->type != REDIS_REPLY_ARRAY ||
        !rs->sink.presence)
        return;
    for (size_t i = 0; i + 2 < reply->elements; i += 3) {
        const redisReply *n = reply->element[i], *l = reply->element[i + 1];
        const redisReply *t = reply->element[i + 2];
        if (n->type != REDIS_REPLY_STRING || l->type != REDIS_REPLY_STRING)
            continue;
        uint64_t node = strtoull(n->str, NULL, 10);
        /* Set with GW_PRESENCE_TTL_MS to live: what it has left says when. */
        long long left = t->type == REDIS_REPLY_INTEGER ? t->integer : -1;
        if (rs->sink.presence_kept && left >= 0 && left <= GW_PRESENCE_TTL_MS)
            rs->sink.presence_kept(rs->sink.ctx, node, l->str, l->len, GW_PRESENCE_TTL_MS - left);
        else
            rs->sink.presence(rs->sink.ctx, node, l->str, l->len);
    }
}

static void read_lists(struct gw_rstore *rs)
{
    const char *argv[] = {"EVAL", lists_lua, "1", NODES_KEY, LIST_KEY};
    size_t len[] = {4, sizeof lists_lua - 1, 1, strlen(NODES_KEY), strlen(LIST_KEY)};
    (void)gw_redis_command(rs->redis, on_lists, rs, 5, argv, len);
}

static int rs_presence(void *ctx, uint64_t node, const char *json, size_t len)
{
    struct gw_rstore *rs = ctx;
    if (!rs->redis_up)
        return GW_STORE_EIO;
    /* Kept too, for a time to live, for gateways that come later. */
    char key[NAME_MAX_BYTES], num[24], ttl[16];
    snprintf(key, sizeof key, LIST_KEY "%" PRIu64, node);
    snprintf(num, sizeof num, "%" PRIu64, node);
    snprintf(ttl, sizeof ttl, "%d", GW_PRESENCE_TTL_MS);
    const char *set[] = {"SET", key, json, "PX", ttl};
    size_t set_len[] = {3, strlen(key), len, 2, strlen(ttl)};
    const char *add[] = {"SADD", NODES_KEY, num};
    size_t add_len[] = {4, strlen(NODES_KEY), strlen(num)};
    if (gw_redis_command(rs->redis, on_published, NULL, 5, set, set_len) != 0 ||
        gw_redis_command(rs->redis, on_published, NULL, 3, add, add_len) != 0)
        return GW_STORE_EIO;
    return publish(rs, PRESENCE_CHANNEL, 'S', node, json, len);
}

/* A private message on its way, until PUBLISH says how many gateways
 * took it: the payload, "M" then the message (len bytes). */
struct private_arg {
    struct gw_rstore *rs;
    size_t len;
    char payload[];
};

static void on_private_sent(void *arg, int status, const redisReply *reply)
{
    struct private_arg *pa = arg;
    struct gw_rstore *rs = pa->rs;
    /* Nobody listens on the gateway's channel (it is gone), or the
     * answer never came: most likely not delivered. */
    if (!rs->closing && rs->sink.private_lost &&
        (status != GW_REDIS_OK || (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0)))
        rs->sink.private_lost(rs->sink.ctx, pa->payload + 1, pa->len);
    free(pa);
}

static int rs_private_to(void *ctx, uint64_t node, const char *json, size_t len)
{
    struct gw_rstore *rs = ctx;
    char chan[NAME_MAX_BYTES];
    if (!rs->redis_up)
        return GW_STORE_EIO;
    snprintf(chan, sizeof chan, GW_RSTORE_PREFIX "node:%" PRIu64, node);
    struct private_arg *pa = malloc(sizeof *pa + len + 1);
    if (!pa)
        return GW_STORE_ENOMEM;
    pa->rs = rs;
    pa->len = len;
    pa->payload[0] = 'M';
    memcpy(pa->payload + 1, json, len);
    const char *argv[] = {"PUBLISH", chan, pa->payload};
    size_t alen[] = {7, strlen(chan), len + 1};
    int rc = gw_redis_command(rs->redis, on_private_sent, pa, 3, argv, alen);
    if (rc != 0) {
        free(pa);
        return GW_STORE_EIO;
    }
    return 0;
}

/* ---- identities ---- */

/* The key of the identity whose digest is hex (GW_DIGEST_HEX_LEN digits),
 * or -1 for anything else. */
static int ident_key(char out[IDENT_KEY_MAX_BYTES], const char *hex)
{
    if (strlen(hex) != GW_DIGEST_HEX_LEN || strspn(hex, "0123456789abcdef") != GW_DIGEST_HEX_LEN)
        return -1;
    snprintf(out, IDENT_KEY_MAX_BYTES, IDENT_KEY "%s", hex);
    return 0;
}

static int rs_ident_keep(void *ctx, const char *digest_hex, const char *nick,
                         uint64_t last_private, uint64_t conn, uint64_t pm_id, const char *json,
                         size_t len)
{
    struct gw_rstore *rs = ctx;
    char key[IDENT_KEY_MAX_BYTES], top[24], ttl[16], keep[16], who[24], id[24];
    if (!rs->redis_up)
        return GW_STORE_EIO;
    if (ident_key(key, digest_hex) != 0)
        return GW_STORE_EINVAL;
    snprintf(top, sizeof top, "%" PRIu64, last_private);
    snprintf(ttl, sizeof ttl, "%d", GW_IDENTITY_TTL_MS);
    snprintf(keep, sizeof keep, "%u", GW_PRIVATE_KEEP);
    snprintf(who, sizeof who, "%" PRIu64, conn);
    snprintf(id, sizeof id, "%" PRIu64, pm_id);
    const char *argv[] = {key, nick, top, ttl, keep, who, id, json};
    size_t alen[] = {strlen(key), strlen(nick), strlen(top), strlen(ttl), strlen(keep),
                     strlen(who), strlen(id), len};
    int argc = pm_id && json ? 8 : 6;
    return gw_redis_eval(rs->redis, rs->ident, on_published, NULL, 1, argc, argv, alen) == 0
               ? 0
               : GW_STORE_EIO;
}

static int rs_ident_touch(void *ctx, const char *digest_hex)
{
    struct gw_rstore *rs = ctx;
    char key[IDENT_KEY_MAX_BYTES], ttl[16];
    if (!rs->redis_up)
        return GW_STORE_EIO;
    if (ident_key(key, digest_hex) != 0)
        return GW_STORE_EINVAL;
    snprintf(ttl, sizeof ttl, "%d", GW_IDENTITY_TTL_MS);
    const char *argv[] = {"PEXPIRE", key, ttl};
    size_t alen[] = {7, strlen(key), strlen(ttl)};
    return gw_redis_command(rs->redis, on_published, NULL, 3, argv, alen) == 0 ? 0
                                                                              : GW_STORE_EIO;
}

struct ident_arg {
    struct gw_rstore *rs;
    uint64_t tag;
};

struct ident_pm {
    uint64_t id;
    const redisReply *json;
};

static int by_id(const void *a, const void *b)
{
    uint64_t x = ((const struct ident_pm *)a)->id, y = ((const struct ident_pm *)b)->id;
    return (x > y) - (x < y);
}

/* HGETALL's answer: field, value, field, value... */
static void on_ident(void *arg, int status, const redisReply *reply)
{
    struct ident_arg *ia = arg;
    struct gw_rstore *rs = ia->rs;
    uint64_t tag = ia->tag;
    free(ia);
    if (rs->closing || !rs->sink.ident)
        return;
    if (status != GW_REDIS_OK || reply->type != REDIS_REPLY_ARRAY) {
        rs->sink.ident(rs->sink.ctx, tag, GW_STORE_EIO, NULL);
        return;
    }
    struct ident_pm pms[GW_PRIVATE_KEEP];
    size_t n = 0;
    const char *nick = NULL;
    uint64_t top = 0, conn = 0;
    char nick_buf[GW_NICK_MAX_BYTES + 1] = "";
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *f = reply->element[i], *v = reply->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(f->str, "nick") == 0 && v->len < sizeof nick_buf) {
            memcpy(nick_buf, v->str, v->len + 1);
            nick = nick_buf;
        } else if (strcmp(f->str, "top") == 0) {
            top = strtoull(v->str, NULL, 10);
        } else if (strcmp(f->str, "conn") == 0) {
            conn = strtoull(v->str, NULL, 10);
        } else if (f->str[0] == 'm' && n < GW_PRIVATE_KEEP) {
            pms[n].id = strtoull(f->str + 1, NULL, 10);
            pms[n].json = v;
            n += pms[n].id > 0;
        }
    }
    if (!nick) { /* no such identity (or it expired) */
        rs->sink.ident(rs->sink.ctx, tag, 0, NULL);
        return;
    }
    qsort(pms, n, sizeof pms[0], by_id);
    uint64_t ids[GW_PRIVATE_KEEP];
    const char *json[GW_PRIVATE_KEEP];
    size_t lens[GW_PRIVATE_KEEP];
    for (size_t i = 0; i < n; i++) {
        ids[i] = pms[i].id;
        json[i] = pms[i].json->str;
        lens[i] = pms[i].json->len;
    }
    struct gw_store_ident id = {
        .nick = nick,
        .last_private = top,
        .conn = conn,
        .n = n,
        .ids = ids,
        .json = json,
        .json_len = lens,
    };
    rs->sink.ident(rs->sink.ctx, tag, 0, &id);
}

static int rs_ident_find(void *ctx, uint64_t tag, const char *digest_hex)
{
    struct gw_rstore *rs = ctx;
    char key[IDENT_KEY_MAX_BYTES];
    if (!rs->redis_up)
        return GW_STORE_EIO;
    if (ident_key(key, digest_hex) != 0)
        return GW_STORE_EINVAL;
    struct ident_arg *ia = malloc(sizeof *ia);
    if (!ia)
        return GW_STORE_ENOMEM;
    ia->rs = rs;
    ia->tag = tag;
    const char *argv[] = {"HGETALL", key};
    size_t alen[] = {7, strlen(key)};
    if (gw_redis_command(rs->redis, on_ident, ia, 2, argv, alen) != 0) {
        free(ia);
        return GW_STORE_EIO;
    }
    return 0;
}

/* ---- accounts (gw_accounts.h) ---- */

enum acct_kind {
    A_CREATE, A_FIND, A_UPDATE, A_REMOVE, A_KEEP, A_FIND_SESSION, A_DROP, A_KEYS,
    A_ROOM, A_ROOMS, A_MARK, A_PM_ADD, A_PM_AFTER
};

/* What an account call's answer needs; pm_add's, the message (its peer
 * and text after the struct, in the same allocation). */
struct acct_arg {
    struct gw_rstore *rs;
    uint64_t tag;
    enum acct_kind kind;
    struct gw_account_pm pm;
    char bytes[];
};

/* The account's hash: the prefix and its name's bytes in hex (any byte is
 * safe in a key then, and no name's key ends in another's ":sessions");
 * with sessions, its set of sessions. -1 for a name that is not one. */
static int acct_key(char out[ACCT_KEY_MAX_BYTES], const char *key, int sessions)
{
    size_t n = key ? strlen(key) : 0;
    if (!n || n > GW_ACCOUNT_KEY_MAX_BYTES)
        return -1;
    size_t at = (size_t)snprintf(out, ACCT_KEY_MAX_BYTES, "%s", ACCT_KEY);
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(out + at, ACCT_KEY_MAX_BYTES - at, "%02x", (unsigned char)key[i]);
    if (sessions)
        snprintf(out + at, ACCT_KEY_MAX_BYTES - at, ":sessions");
    return 0;
}

/* The account's key of another kind: its hash's key and a suffix
 * (":rooms", ":pms"). -1 for a name that is not one. */
static int acct_sub(char out[ACCT_KEY_MAX_BYTES], const char *key, const char *suffix)
{
    if (acct_key(out, key, 0) != 0)
        return -1;
    size_t at = strlen(out);
    snprintf(out + at, ACCT_KEY_MAX_BYTES - at, "%s", suffix);
    return 0;
}

/* Whether a key SCAN found is an account's hash: the prefix, then hex
 * digits only (not its sessions', rooms' or messages' key). */
static int acct_hash_key(const char *k, size_t len)
{
    size_t plen = strlen(ACCT_KEY);
    if (len <= plen || memcmp(k, ACCT_KEY, plen) != 0)
        return 0;
    for (size_t i = plen; i < len; i++)
        if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f')))
            return 0;
    return 1;
}

/* A session's key, from its token's digest (GW_DIGEST_HEX_LEN lowercase
 * hex digits), or -1 for anything else. */
static int session_key(char out[SESSION_KEY_MAX_BYTES], const char *hex)
{
    if (!hex || strlen(hex) != GW_DIGEST_HEX_LEN ||
        strspn(hex, "0123456789abcdef") != GW_DIGEST_HEX_LEN)
        return -1;
    snprintf(out, SESSION_KEY_MAX_BYTES, SESSION_KEY "%s", hex);
    return 0;
}

/* An account's strings fit what an engine keeps. */
static int acct_valid(const struct gw_account *a)
{
    return a && a->nick && a->phc && strlen(a->nick) <= GW_NICK_MAX_BYTES &&
           strlen(a->phc) <= GW_ACCOUNT_PHC_MAX_BYTES;
}

/* A reply's string field of HGETALL's array, or NULL. */
static const redisReply *hash_field(const redisReply *h, const char *name)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const redisReply *k = h->element[i], *v = h->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
            strcmp(k->str, name) == 0)
            return v;
    }
    return NULL;
}

/* A decimal field as written by this engine, into *out: 0, or -1. */
static int hash_u64(const redisReply *h, const char *name, uint64_t *out)
{
    const redisReply *v = hash_field(h, name);
    char *end;
    if (!v || !v->len || v->str[0] == '-')
        return -1;
    *out = strtoull(v->str, &end, 10);
    return *end ? -1 : 0;
}

/* The account in an HGETALL's array: 0, or -1 when it is not one of ours
 * (a field missing or too long). Its strings point into h. */
static int hash_account(const redisReply *h, struct gw_account *a)
{
    const redisReply *key = hash_field(h, "key"), *nick = hash_field(h, "nick");
    const redisReply *phc = hash_field(h, "phc"), *c = hash_field(h, "created_ms");
    uint64_t roles;
    char *end;
    if (!key || !nick || !phc || !c || !key->len || key->len > GW_ACCOUNT_KEY_MAX_BYTES ||
        nick->len > GW_NICK_MAX_BYTES || phc->len > GW_ACCOUNT_PHC_MAX_BYTES ||
        hash_u64(h, "roles", &roles) != 0 || roles > UINT_MAX ||
        hash_u64(h, "generation", &a->generation) != 0)
        return -1;
    a->created_ms = strtoll(c->str, &end, 10);
    if (!c->len || *end)
        return -1;
    a->key = key->str;
    a->nick = nick->str;
    a->phc = phc->str;
    a->roles = (unsigned)roles;
    return 0;
}

/* The answer to keys: ZRANGE's names, one more than a page when there
 * are more (the page's last is then the next cursor). A name that is not
 * one (empty, too long, a NUL in it) makes the answer GW_STORE_EIO. */
static void keys_answer(struct gw_rstore *rs, uint64_t tag, const redisReply *reply)
{
    void *ctx = rs->acct_sink.ctx;
    const char *keys[GW_ACCOUNT_KEYS_PAGE];
    size_t n = 0;
    if (!rs->acct_sink.keys)
        return; /* a sink without it replaced the one that asked */
    if (reply->type != REDIS_REPLY_ARRAY) {
        rs->acct_sink.keys(ctx, tag, GW_STORE_EIO, NULL, 0, "");
        return;
    }
    for (; n < reply->elements && n < GW_ACCOUNT_KEYS_PAGE; n++) {
        const redisReply *k = reply->element[n];
        if (k->type != REDIS_REPLY_STRING || !k->len || k->len > GW_ACCOUNT_KEY_MAX_BYTES ||
            memchr(k->str, '\0', k->len)) {
            rs->acct_sink.keys(ctx, tag, GW_STORE_EIO, NULL, 0, "");
            return;
        }
        keys[n] = k->str;
    }
    rs->acct_sink.keys(ctx, tag, GW_STORE_DONE, keys, n,
                       reply->elements > GW_ACCOUNT_KEYS_PAGE ? keys[n - 1] : "");
}

/* By room, for rooms_of's answer. */
static int by_room(const void *a, const void *b)
{
    return strcmp(((const struct gw_account_room *)a)->room,
                  ((const struct gw_account_room *)b)->room);
}

/* A string of a reply that is one: 1..max bytes, no NUL. */
static int reply_str(const redisReply *r, size_t min, size_t max)
{
    return r && r->type == REDIS_REPLY_STRING && r->len >= min && r->len <= max &&
           !memchr(r->str, '\0', r->len);
}

/* rooms_of's answer: the rooms' hash (room, read id ...), or 0. */
static void rooms_answer(struct gw_rstore *rs, uint64_t tag, const redisReply *reply)
{
    struct gw_account_room rows[GW_ACCOUNT_ROOMS_MAX];
    size_t n = 0;
    void *ctx = rs->acct_sink.ctx;
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
        rs->acct_sink.rooms(ctx, tag, GW_ACCOUNT_NONE, NULL, 0);
        return;
    }
    int ok = reply->type == REDIS_REPLY_ARRAY && reply->elements % 2 == 0 &&
             reply->elements / 2 <= GW_ACCOUNT_ROOMS_MAX;
    for (size_t i = 0; ok && i < reply->elements; i += 2, n++) {
        const redisReply *r = reply->element[i], *v = reply->element[i + 1];
        char *end;
        ok = reply_str(r, 1, GW_ACCOUNT_ROOM_MAX_BYTES) && reply_str(v, 1, 20);
        if (ok) {
            rows[n].room = r->str;
            rows[n].read_id = strtoull(v->str, &end, 10);
            ok = !*end && v->str[0] != '-';
        }
    }
    if (!ok) {
        rs->acct_sink.rooms(ctx, tag, GW_STORE_EIO, NULL, 0);
        return;
    }
    qsort(rows, n, sizeof rows[0], by_room);
    rs->acct_sink.rooms(ctx, tag, GW_STORE_DONE, rows, n);
}

/* pm_after's answer: XRANGE's entries ("ID-0", t, p, o, x), or 0. */
static void pms_answer(struct gw_rstore *rs, uint64_t tag, const redisReply *reply)
{
    struct gw_account_pm rows[GW_ACCOUNT_PMS_PAGE];
    size_t n = 0;
    void *ctx = rs->acct_sink.ctx;
    if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) {
        rs->acct_sink.pms(ctx, tag, GW_ACCOUNT_NONE, NULL, 0);
        return;
    }
    int ok = reply->type == REDIS_REPLY_ARRAY && reply->elements <= GW_ACCOUNT_PMS_PAGE;
    for (; ok && n < reply->elements; n++) {
        const redisReply *e = reply->element[n];
        ok = e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
             reply_str(e->element[0], 3, 41);
        if (!ok)
            break;
        const redisReply *fs = e->element[1], *t = field(fs, "t"), *pr = field(fs, "p"),
                         *o = field(fs, "o"), *x = field(fs, "x");
        char *end;
        rows[n].id = strtoull(e->element[0]->str, &end, 10);
        ok = strcmp(end, "-0") == 0 && reply_str(t, 1, 20) &&
             reply_str(pr, 1, GW_ACCOUNT_PEER_MAX_BYTES) && reply_str(o, 1, 1) &&
             reply_str(x, 0, GW_ACCOUNT_TEXT_MAX_BYTES);
        if (!ok)
            break;
        rows[n].time_ms = strtoll(t->str, &end, 10);
        rows[n].peer = pr->str;
        rows[n].out = o->str[0] == '1';
        rows[n].text = x->str;
        ok = !*end;
    }
    if (!ok)
        rs->acct_sink.pms(ctx, tag, GW_STORE_EIO, NULL, 0);
    else
        rs->acct_sink.pms(ctx, tag, GW_STORE_DONE, rows, n);
}

/* The answers that do not go to sink->answer. */
static void other_answer(struct acct_arg *aa, const redisReply *reply)
{
    struct gw_rstore *rs = aa->rs;
    void *ctx = rs->acct_sink.ctx;
    switch (aa->kind) {
    case A_KEYS:
        keys_answer(rs, aa->tag, reply);
        break;
    case A_ROOMS:
        if (rs->acct_sink.rooms)
            rooms_answer(rs, aa->tag, reply);
        break;
    case A_PM_AFTER:
        if (rs->acct_sink.pms)
            pms_answer(rs, aa->tag, reply);
        break;
    default: /* A_PM_ADD: the id given, or 0 */
        if (!rs->acct_sink.pms)
            break;
        if (reply->type != REDIS_REPLY_INTEGER || reply->integer < 0) {
            rs->acct_sink.pms(ctx, aa->tag, GW_STORE_EIO, NULL, 0);
        } else if (reply->integer == 0) {
            rs->acct_sink.pms(ctx, aa->tag, GW_ACCOUNT_NONE, NULL, 0);
        } else {
            aa->pm.id = (uint64_t)reply->integer;
            rs->acct_sink.pms(ctx, aa->tag, GW_STORE_DONE, &aa->pm, 1);
        }
        break;
    }
}

static void on_account(void *arg, int status, const redisReply *reply)
{
    struct acct_arg *aa = arg;
    struct gw_rstore *rs = aa->rs;
    uint64_t tag = aa->tag;
    enum acct_kind kind = aa->kind;
    rs->acct_waiting--;
    if (rs->closing || !rs->acct_sink.answer) {
        free(aa);
        return;
    }
    if (status == GW_REDIS_OK && (kind == A_KEYS || kind == A_ROOMS || kind == A_PM_ADD ||
                                  kind == A_PM_AFTER)) {
        other_answer(aa, reply);
        free(aa);
        return;
    }
    free(aa);
    void *ctx = rs->acct_sink.ctx;
    if (status != GW_REDIS_OK) { /* lost with its connection, or an error reply */
        if (kind == A_KEYS) {
            if (rs->acct_sink.keys)
                rs->acct_sink.keys(ctx, tag, GW_STORE_EIO, NULL, 0, "");
        } else if (kind == A_ROOMS) {
            if (rs->acct_sink.rooms)
                rs->acct_sink.rooms(ctx, tag, GW_STORE_EIO, NULL, 0);
        } else if (kind == A_PM_ADD || kind == A_PM_AFTER) {
            if (rs->acct_sink.pms)
                rs->acct_sink.pms(ctx, tag, GW_STORE_EIO, NULL, 0);
        } else
            rs->acct_sink.answer(ctx, tag, GW_STORE_EIO, NULL);
        return;
    }
    if (kind == A_FIND || kind == A_FIND_SESSION) {
        struct gw_account a;
        if ((reply->type == REDIS_REPLY_INTEGER && reply->integer == 0) ||
            (reply->type == REDIS_REPLY_ARRAY && reply->elements == 0))
            rs->acct_sink.answer(ctx, tag, GW_ACCOUNT_NONE, NULL);
        else if (reply->type == REDIS_REPLY_ARRAY && hash_account(reply, &a) == 0)
            rs->acct_sink.answer(ctx, tag, GW_STORE_DONE, &a);
        else
            rs->acct_sink.answer(ctx, tag, GW_STORE_EIO, NULL);
        return;
    }
    if (kind == A_ROOM && reply->type == REDIS_REPLY_INTEGER && reply->integer == 2)
        rs->acct_sink.answer(ctx, tag, GW_ACCOUNT_FULL, NULL);
    else if (reply->type != REDIS_REPLY_INTEGER || reply->integer < 0 || reply->integer > 1)
        rs->acct_sink.answer(ctx, tag, GW_STORE_EIO, NULL);
    else if (reply->integer == 1)
        rs->acct_sink.answer(ctx, tag, GW_STORE_DONE, NULL);
    else
        rs->acct_sink.answer(ctx, tag, kind == A_CREATE ? GW_ACCOUNT_EXISTS : GW_ACCOUNT_NONE,
                             NULL);
}

/* Send an account call: a script (s) or a command (s NULL), with nkeys
 * keys first in argv. Returns GW_STORE_PENDING or a failure (no answer). */
static int acct_send_pm(struct gw_rstore *rs, uint64_t tag, enum acct_kind kind,
                        struct gw_redis_script *s, int nkeys, int argc, const char **argv,
                        const struct gw_account_pm *pm)
{
    size_t len[12];
    if (!rs->redis_up)
        return GW_STORE_EIO;
    if (rs->acct_waiting >= GW_RSTORE_ACCOUNT_CALLS_MAX)
        return GW_STORE_EBUSY;
    for (int i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    size_t plen = pm ? strlen(pm->peer) + 1 : 0, tlen = pm ? strlen(pm->text) + 1 : 0;
    struct acct_arg *aa = malloc(sizeof *aa + plen + tlen);
    if (!aa)
        return GW_STORE_ENOMEM;
    *aa = (struct acct_arg){.rs = rs, .tag = tag, .kind = kind};
    if (pm) {
        memcpy(aa->bytes, pm->peer, plen);
        memcpy(aa->bytes + plen, pm->text, tlen);
        aa->pm = (struct gw_account_pm){.time_ms = pm->time_ms, .peer = aa->bytes,
                                        .out = pm->out, .text = aa->bytes + plen};
    }
    int rc = s ? gw_redis_eval(rs->redis, s, on_account, aa, nkeys, argc, argv, len)
               : gw_redis_command(rs->redis, on_account, aa, argc, argv, len);
    if (rc != 0) {
        free(aa);
        return rc == GW_REDIS_EBUSY ? GW_STORE_EBUSY
               : rc == GW_REDIS_ENOMEM ? GW_STORE_ENOMEM
                                       : GW_STORE_EIO;
    }
    rs->acct_waiting++;
    return GW_STORE_PENDING;
}

static int acct_send(struct gw_rstore *rs, uint64_t tag, enum acct_kind kind,
                     struct gw_redis_script *s, int nkeys, int argc, const char **argv)
{
    return acct_send_pm(rs, tag, kind, s, nkeys, argc, argv, NULL);
}

static int ac_create(void *ctx, uint64_t tag, const struct gw_account *a)
{
    struct gw_rstore *rs = ctx;
    char key[ACCT_KEY_MAX_BYTES], roles[16], gen[24], created[24];
    if (!acct_valid(a) || acct_key(key, a->key, 0) != 0)
        return GW_STORE_EINVAL;
    snprintf(roles, sizeof roles, "%u", a->roles);
    snprintf(gen, sizeof gen, "%" PRIu64, a->generation);
    snprintf(created, sizeof created, "%" PRId64, a->created_ms);
    const char *argv[] = {key, NAMES_KEY, a->key, a->nick, a->phc, roles, gen, created};
    return acct_send(rs, tag, A_CREATE, rs->acct_create, 2, 8, argv);
}

static int ac_find(void *ctx, uint64_t tag, const char *name)
{
    struct gw_rstore *rs = ctx;
    char key[ACCT_KEY_MAX_BYTES];
    if (acct_key(key, name, 0) != 0)
        return GW_STORE_EINVAL;
    const char *argv[] = {"HGETALL", key};
    return acct_send(rs, tag, A_FIND, NULL, 0, 2, argv);
}

static int ac_update(void *ctx, uint64_t tag, const struct gw_account *a)
{
    struct gw_rstore *rs = ctx;
    char key[ACCT_KEY_MAX_BYTES], roles[16], gen[24];
    if (!acct_valid(a) || acct_key(key, a->key, 0) != 0)
        return GW_STORE_EINVAL;
    snprintf(roles, sizeof roles, "%u", a->roles);
    snprintf(gen, sizeof gen, "%" PRIu64, a->generation);
    const char *argv[] = {key, a->nick, a->phc, roles, gen};
    return acct_send(rs, tag, A_UPDATE, rs->acct_update, 1, 5, argv);
}

static int ac_moved(void *ctx, const char *name, uint64_t generation, int why)
{
    struct gw_rstore *rs = ctx;
    size_t n = name ? strlen(name) : 0;
    if (!n || n > GW_ACCOUNT_KEY_MAX_BYTES || !generation || why <= 0)
        return GW_STORE_EINVAL;
    char rest[24 + GW_ACCOUNT_KEY_MAX_BYTES];
    int k = snprintf(rest, sizeof rest, "%d %s", why, name);
    return publish(rs, GENERATIONS_CHANNEL, 'G', generation, rest, (size_t)k);
}

static int ac_remove(void *ctx, uint64_t tag, const char *name)
{
    struct gw_rstore *rs = ctx;
    char key[ACCT_KEY_MAX_BYTES], set[ACCT_KEY_MAX_BYTES];
    char rooms[ACCT_KEY_MAX_BYTES], pms[ACCT_KEY_MAX_BYTES];
    if (acct_key(key, name, 0) != 0 || acct_key(set, name, 1) != 0 ||
        acct_sub(rooms, name, ":rooms") != 0 || acct_sub(pms, name, ":pms") != 0)
        return GW_STORE_EINVAL;
    const char *argv[] = {key, set, NAMES_KEY, rooms, pms, SESSION_KEY, name, MEMBERS_KEY};
    return acct_send(rs, tag, A_REMOVE, rs->acct_remove, 5, 8, argv);
}

static int ac_session_keep(void *ctx, uint64_t tag, const char *digest_hex, const char *name,
                           uint64_t generation, int64_t expires_ms)
{
    struct gw_rstore *rs = ctx;
    char key[ACCT_KEY_MAX_BYTES], set[ACCT_KEY_MAX_BYTES], sess[SESSION_KEY_MAX_BYTES];
    char gen[24], end[24], bound[16];
    if (acct_key(key, name, 0) != 0 || acct_key(set, name, 1) != 0 ||
        session_key(sess, digest_hex) != 0)
        return GW_STORE_EINVAL;
    snprintf(gen, sizeof gen, "%" PRIu64, generation);
    snprintf(end, sizeof end, "%" PRId64, expires_ms);
    snprintf(bound, sizeof bound, "%u", GW_SESSIONS_PER_ACCOUNT);
    const char *argv[] = {key, set, sess, name, gen, end, bound, SESSION_KEY, digest_hex};
    return acct_send(rs, tag, A_KEEP, rs->acct_keep, 3, 9, argv);
}

static int ac_session_find(void *ctx, uint64_t tag, const char *digest_hex, int64_t now_ms)
{
    struct gw_rstore *rs = ctx;
    char sess[SESSION_KEY_MAX_BYTES], now[24];
    if (session_key(sess, digest_hex) != 0)
        return GW_STORE_EINVAL;
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    const char *argv[] = {sess, now, ACCT_KEY};
    return acct_send(rs, tag, A_FIND_SESSION, rs->acct_find_session, 1, 3, argv);
}

static int ac_session_drop(void *ctx, uint64_t tag, const char *digest_hex)
{
    struct gw_rstore *rs = ctx;
    char sess[SESSION_KEY_MAX_BYTES];
    if (session_key(sess, digest_hex) != 0)
        return GW_STORE_EINVAL;
    const char *argv[] = {sess, ACCT_KEY, digest_hex};
    return acct_send(rs, tag, A_DROP, rs->acct_drop, 1, 3, argv);
}

/* A page of names from the index: after the cursor (the last name given,
 * "(" before it: exclusive), in byte order, one more than a page. */
static int ac_keys(void *ctx, uint64_t tag, const char *cursor)
{
    struct gw_rstore *rs = ctx;
    char min[1 + GW_ACCOUNT_KEY_MAX_BYTES + 1], count[16];
    if (!cursor || !rs->acct_sink.keys || strlen(cursor) > GW_ACCOUNT_KEY_MAX_BYTES)
        return GW_STORE_EINVAL;
    if (rs->redis_up && !rs->names_whole)
        return GW_STORE_EBUSY; /* the index is being filled: soon */
    if (cursor[0])
        snprintf(min, sizeof min, "(%s", cursor);
    else
        snprintf(min, sizeof min, "-");
    snprintf(count, sizeof count, "%u", GW_ACCOUNT_KEYS_PAGE + 1);
    const char *argv[] = {"ZRANGE", NAMES_KEY, min, "+", "BYLEX", "LIMIT", "0", count};
    return acct_send(rs, tag, A_KEYS, NULL, 0, 8, argv);
}

/* ---- present while away ---- */

static int room_valid(const char *room)
{
    return room && room[0] && strlen(room) <= GW_ACCOUNT_ROOM_MAX_BYTES;
}

static int ac_room_keep(void *ctx, uint64_t tag, const char *name, const char *room, int in)
{
    struct gw_rstore *rs = ctx;
    char key[ACCT_KEY_MAX_BYTES], rooms[ACCT_KEY_MAX_BYTES], members[MEMBERS_KEY_MAX_BYTES];
    char bound[16];
    if (acct_key(key, name, 0) != 0 || acct_sub(rooms, name, ":rooms") != 0 ||
        !room_valid(room) || (in != 0 && in != 1))
        return GW_STORE_EINVAL;
    snprintf(members, sizeof members, MEMBERS_KEY "%s", room);
    snprintf(bound, sizeof bound, "%u", GW_ACCOUNT_ROOMS_MAX);
    const char *argv[] = {key, rooms, members, name, room, in ? "1" : "0", bound};
    return acct_send(rs, tag, A_ROOM, rs->acct_room, 3, 7, argv);
}

static int ac_rooms_of(void *ctx, uint64_t tag, const char *name)
{
    struct gw_rstore *rs = ctx;
    char key[ACCT_KEY_MAX_BYTES], rooms[ACCT_KEY_MAX_BYTES];
    if (!rs->acct_sink.rooms || acct_key(key, name, 0) != 0 ||
        acct_sub(rooms, name, ":rooms") != 0)
        return GW_STORE_EINVAL;
    const char *argv[] = {key, rooms};
    return acct_send(rs, tag, A_ROOMS, rs->acct_rooms, 2, 2, argv);
}

static int ac_read_mark(void *ctx, uint64_t tag, const char *name, const char *room,
                        uint64_t id)
{
    struct gw_rstore *rs = ctx;
    char key[ACCT_KEY_MAX_BYTES], rooms[ACCT_KEY_MAX_BYTES], ids[24];
    if (acct_key(key, name, 0) != 0 || acct_sub(rooms, name, ":rooms") != 0 ||
        !room_valid(room) || id > GW_ACCOUNT_ID_MAX)
        return GW_STORE_EINVAL;
    snprintf(ids, sizeof ids, "%" PRIu64, id);
    const char *argv[] = {key, rooms, room, ids};
    return acct_send(rs, tag, A_MARK, rs->acct_mark, 2, 4, argv);
}

/* A page of the room's members: as keys, from the room's own index. */
static int ac_room_accounts(void *ctx, uint64_t tag, const char *room, const char *cursor)
{
    struct gw_rstore *rs = ctx;
    char members[MEMBERS_KEY_MAX_BYTES], min[1 + GW_ACCOUNT_KEY_MAX_BYTES + 1], count[16];
    if (!rs->acct_sink.keys || !room_valid(room) || !cursor ||
        strlen(cursor) > GW_ACCOUNT_KEY_MAX_BYTES)
        return GW_STORE_EINVAL;
    snprintf(members, sizeof members, MEMBERS_KEY "%s", room);
    if (cursor[0])
        snprintf(min, sizeof min, "(%s", cursor);
    else
        snprintf(min, sizeof min, "-");
    snprintf(count, sizeof count, "%u", GW_ACCOUNT_KEYS_PAGE + 1);
    const char *argv[] = {"ZRANGE", members, min, "+", "BYLEX", "LIMIT", "0", count};
    return acct_send(rs, tag, A_KEYS, NULL, 0, 8, argv);
}

static int ac_pm_add(void *ctx, uint64_t tag, const char *name, const struct gw_account_pm *pm)
{
    struct gw_rstore *rs = ctx;
    char key[ACCT_KEY_MAX_BYTES], pms[ACCT_KEY_MAX_BYTES], t[24], bound[16];
    if (!rs->acct_sink.pms || acct_key(key, name, 0) != 0 || acct_sub(pms, name, ":pms") != 0 ||
        !pm || !pm->peer || !pm->peer[0] || strlen(pm->peer) > GW_ACCOUNT_PEER_MAX_BYTES ||
        !pm->text || strlen(pm->text) > GW_ACCOUNT_TEXT_MAX_BYTES ||
        (pm->out != 0 && pm->out != 1))
        return GW_STORE_EINVAL;
    snprintf(t, sizeof t, "%" PRId64, pm->time_ms);
    snprintf(bound, sizeof bound, "%u", GW_ACCOUNT_PMS_MAX);
    const char *argv[] = {key, pms, t, pm->peer, pm->out ? "1" : "0", pm->text, bound};
    return acct_send_pm(rs, tag, A_PM_ADD, rs->acct_pm, 2, 7, argv, pm);
}

static int ac_pm_after(void *ctx, uint64_t tag, const char *name, uint64_t after_id,
                       size_t limit)
{
    struct gw_rstore *rs = ctx;
    char key[ACCT_KEY_MAX_BYTES], pms[ACCT_KEY_MAX_BYTES], after[24], count[16];
    if (!rs->acct_sink.pms || acct_key(key, name, 0) != 0 || acct_sub(pms, name, ":pms") != 0 ||
        after_id > GW_ACCOUNT_ID_MAX)
        return GW_STORE_EINVAL;
    snprintf(after, sizeof after, "%" PRIu64, after_id);
    snprintf(count, sizeof count, "%zu", limit < GW_ACCOUNT_PMS_PAGE ? limit : GW_ACCOUNT_PMS_PAGE);
    const char *argv[] = {key, pms, after, count};
    return acct_send(rs, tag, A_PM_AFTER, rs->acct_pms, 2, 4, argv);
}

/* ---- the names' index, filled once for accounts made before it ---- */

/* A walk of the account hashes (SCAN), each page's names put in the index
 * by one script; when the walk is over and every script answered, the
 * mark is set: no gateway walks again. Belongs to one connection (gen). */
struct names_fill {
    struct gw_rstore *rs;
    uint64_t gen;
    size_t waiting;
    int scanned, failed;
};

static void on_fill_scan(void *arg, int status, const redisReply *reply);

/* One command of the walk; a failure to send fails the walk. */
static void fill_send(struct names_fill *nf, struct gw_redis_script *s, gw_redis_reply_fn *cb,
                      int nkeys, int argc, const char **argv, const size_t *len)
{
    int rc = s ? gw_redis_eval(nf->rs->redis, s, cb, nf, nkeys, argc, argv, len)
               : gw_redis_command(nf->rs->redis, cb, nf, argc, argv, len);
    if (rc == 0)
        nf->waiting++;
    else
        nf->failed = 1;
}

static void on_fill_done(void *arg, int status, const redisReply *reply);

/* After an answer: when nothing waits, set the mark (the walk went
 * well), or end (it failed: the next connection walks again). */
static void fill_settle(struct names_fill *nf)
{
    struct gw_rstore *rs = nf->rs;
    if (nf->waiting)
        return;
    if (!rs->closing && !nf->failed && nf->gen == rs->conn_gen && nf->scanned) {
        nf->scanned = 0;
        const char *argv[] = {"SET", NAMES_DONE_KEY, "1"};
        size_t len[] = {3, strlen(NAMES_DONE_KEY), 1};
        fill_send(nf, NULL, on_fill_done, 0, 3, argv, len);
        if (nf->waiting)
            return;
    }
    free(nf);
}

static void on_fill_done(void *arg, int status, const redisReply *reply)
{
    struct names_fill *nf = arg;
    nf->waiting--;
    if (status == GW_REDIS_OK && reply->type == REDIS_REPLY_STATUS && !nf->rs->closing &&
        nf->gen == nf->rs->conn_gen)
        nf->rs->names_whole = 1;
    fill_settle(nf);
}

static void on_fill_page(void *arg, int status, const redisReply *reply)
{
    struct names_fill *nf = arg;
    nf->waiting--;
    if (status != GW_REDIS_OK || reply->type != REDIS_REPLY_INTEGER)
        nf->failed = 1;
    fill_settle(nf);
}

static void fill_scan(struct names_fill *nf, const char *cursor)
{
    const char *argv[] = {"SCAN", cursor, "MATCH", ACCT_KEY "*", "COUNT", LIST_SCAN_COUNT};
    size_t len[] = {4, strlen(cursor), 5, strlen(ACCT_KEY "*"), 5, strlen(LIST_SCAN_COUNT)};
    fill_send(nf, NULL, on_fill_scan, 0, 6, argv, len);
}

static void on_fill_scan(void *arg, int status, const redisReply *reply)
{
    struct names_fill *nf = arg;
    struct gw_rstore *rs = nf->rs;
    nf->waiting--;
    if (rs->closing || nf->failed || nf->gen != rs->conn_gen || status != GW_REDIS_OK ||
        reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        nf->failed = 1;
        fill_settle(nf);
        return;
    }
    /* The page's account hashes (not their sessions' sets), as keys of
     * one script after the index's own. */
    const redisReply *keys = reply->element[1];
    const char *argv[1 + LIST_SCAN_MAX];
    size_t len[1 + LIST_SCAN_MAX], n = 1;
    argv[0] = NAMES_KEY;
    len[0] = strlen(NAMES_KEY);
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING || !acct_hash_key(k->str, k->len))
            continue;
        if (n == 1 + LIST_SCAN_MAX) { /* SCAN gave more than it is asked for: send these */
            fill_send(nf, rs->acct_index, on_fill_page, (int)n, (int)n, argv, len);
            n = 1;
        }
        argv[n] = k->str;
        len[n++] = k->len;
    }
    if (n > 1)
        fill_send(nf, rs->acct_index, on_fill_page, (int)n, (int)n, argv, len);
    if (strcmp(reply->element[0]->str, "0") != 0)
        fill_scan(nf, reply->element[0]->str);
    else
        nf->scanned = 1;
    fill_settle(nf);
}

/* On each connect: the index is whole when its mark is there; else walk
 * the accounts and fill it. keys waits (GW_STORE_EBUSY) meanwhile. */
static void on_fill_mark(void *arg, int status, const redisReply *reply)
{
    struct names_fill *nf = arg;
    struct gw_rstore *rs = nf->rs;
    nf->waiting--;
    if (rs->closing || nf->gen != rs->conn_gen || status != GW_REDIS_OK) {
        nf->failed = 1;
    } else if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        rs->names_whole = 1;
    } else {
        fill_scan(nf, "0");
    }
    fill_settle(nf);
}

static void names_check(struct gw_rstore *rs)
{
    rs->names_whole = 0;
    rs->conn_gen++;
    struct names_fill *nf = calloc(1, sizeof *nf);
    if (!nf)
        return; /* keys stays refused until the next connect */
    nf->rs = rs;
    nf->gen = rs->conn_gen;
    const char *argv[] = {"EXISTS", NAMES_DONE_KEY};
    size_t len[] = {6, strlen(NAMES_DONE_KEY)};
    fill_send(nf, NULL, on_fill_mark, 0, 2, argv, len);
    if (!nf->waiting)
        free(nf);
}

int gw_rstore_accounts(struct gw_rstore *rs, const struct gw_account_sink *sink,
                       struct gw_accounts *out)
{
    rs->acct_sink = *sink;
    memset(out, 0, sizeof *out);
    out->ctx = rs;
    out->create = ac_create;
    out->find = ac_find;
    out->update = ac_update;
    out->remove = ac_remove;
    out->session_keep = ac_session_keep;
    out->session_find = ac_session_find;
    out->session_drop = ac_session_drop;
    out->keys = ac_keys;
    out->room_keep = ac_room_keep;
    out->rooms_of = ac_rooms_of;
    out->read_mark = ac_read_mark;
    out->room_accounts = ac_room_accounts;
    out->pm_add = ac_pm_add;
    out->pm_after = ac_pm_after;
    out->moved = ac_moved;
    return 0;
}

/* ---- room config (gw_roomcfg.h): gw_rstore_roomcfg ---- */

/* A list's entries expired as of now go (the Lua part every write to a
 * list begins with): the list's expiries are a sorted set beside its hash
 * (score: expires_ms), so a write looks only at what has expired. */
#define RC_SWEEP_LUA                                                                   \
    "local function sweep(h, z, now)\n"                                               \
    "  local gone = redis.call('ZRANGEBYSCORE', z, '-inf', now)\n"                    \
    "  if #gone > 0 then\n"                                                           \
    "    redis.call('HDEL', h, unpack(gone))\n"                                       \
    "    redis.call('ZREMRANGEBYSCORE', z, '-inf', now)\n"                            \
    "  end\n"                                                                         \
    "end\n"

/* owner, topic, settings: KEYS[1] the room's hash; ARGV[1] the channel,
 * ARGV[2] the notice, then fields and values. Kept and published at once. */
static const char rc_hset_lua[] =
    "redis.call('HSET', KEYS[1], unpack(ARGV, 3))\n"
    "redis.call('PUBLISH', ARGV[1], ARGV[2])\n"
    "return 1\n";

/* entry_set: KEYS[1] the list's hash, KEYS[2] its expiries; ARGV field,
 * value, now (set_ms), the list's bound, channel, notice, expires_ms.
 * 1 kept, 2 full. */
static const char rc_set_lua[] =
    RC_SWEEP_LUA
    "sweep(KEYS[1], KEYS[2], ARGV[3])\n"
    "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and\n"
    "   redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return 2 end\n"
    "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
    "if tonumber(ARGV[7]) > 0 then redis.call('ZADD', KEYS[2], ARGV[7], ARGV[1])\n"
    "else redis.call('ZREM', KEYS[2], ARGV[1]) end\n"
    "redis.call('PUBLISH', ARGV[5], ARGV[6])\n"
    "return 1\n";

/* entry_clear: KEYS[1] the list's hash, KEYS[2] its expiries; ARGV
 * field, now, channel, notice. 1 removed, 0 none. */
static const char rc_clear_lua[] =
    RC_SWEEP_LUA
    "sweep(KEYS[1], KEYS[2], ARGV[2])\n"
    "if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end\n"
    "redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "redis.call('PUBLISH', ARGV[3], ARGV[4])\n"
    "return 1\n";

/* load: KEYS the room's hash, then its lists' hashes: each one's HGETALL,
 * read at one instant. */
static const char rc_load_lua[] =
    "local out = {}\n"
    "for i = 1, #KEYS do out[i] = redis.call('HGETALL', KEYS[i]) end\n"
    "return out\n";

enum rc_kind { RK_WRITE, RK_SET, RK_CLEAR, RK_LOAD, RK_ENTRIES };

struct rc_arg {
    struct gw_rstore *rs;
    uint64_t tag;
    enum rc_kind kind;
    int list;
    int64_t now_ms;
    char room[GW_ROOMCFG_ROOM_MAX_BYTES + 1];
};

/* An entry's strings, parsed from its hash's field and value. */
struct rc_ent {
    char who[GW_ROOMCFG_WHO_MAX_BYTES + 1];
    char by[GW_ROOMCFG_BY_MAX_BYTES + 1];
    char why[GW_ROOMCFG_WHY_MAX_BYTES + 1];
};

/* The room's hash, or a list's (room "": the gateway-wide bans). */
static void rc_key(char *out, size_t cap, const char *room, int list)
{
    if (list < 0)
        snprintf(out, cap, RC_KEY "%s", room);
    else if (list == GW_RCL_GBAN)
        snprintf(out, cap, GBANS_KEY);
    else
        snprintf(out, cap, RC_KEY "%s:l%d", room, list);
}

/* A list's expiries (sorted set): its hash's key and ":exp". */
static void rc_exp_key(char *out, size_t cap, const char *room, int list)
{
    char h[sizeof RC_KEY + GW_ROOMCFG_ROOM_MAX_BYTES + 8];
    rc_key(h, sizeof h, room, list);
    snprintf(out, cap, "%s:exp", h);
}

/* One field and value of a list's hash into e and x: 0, or -1 for one
 * that is not ours. */
static int rc_parse(const redisReply *field, const redisReply *value, int list,
                    struct gw_roomcfg_entry *e, struct rc_ent *x)
{
    if (field->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING ||
        field->len < 3 || field->str[1] != ' ' || field->str[0] < '1' || field->str[0] > '3' ||
        field->len - 2 > GW_ROOMCFG_WHO_MAX_BYTES)
        return -1;
    memcpy(x->who, field->str + 2, field->len - 2);
    x->who[field->len - 2] = '\0';
    long long set, exp;
    size_t bylen;
    int off = 0;
    if (sscanf(value->str, "%lld %lld %zu %n", &set, &exp, &bylen, &off) != 3 || off <= 0 ||
        bylen > GW_ROOMCFG_BY_MAX_BYTES || (size_t)off + bylen > value->len ||
        value->len - (size_t)off - bylen > GW_ROOMCFG_WHY_MAX_BYTES)
        return -1;
    memcpy(x->by, value->str + off, bylen);
    x->by[bylen] = '\0';
    size_t wl = value->len - (size_t)off - bylen;
    memcpy(x->why, value->str + off + bylen, wl);
    x->why[wl] = '\0';
    *e = (struct gw_roomcfg_entry){.list = list, .kind = field->str[0] - '0', .who = x->who,
                                   .by = x->by, .set_ms = set, .expires_ms = exp, .why = x->why};
    return 0;
}

/* The entries of lists' HGETALL replies (hs[i] is list lists[i]) not
 * expired at now_ms, ordered; into *rows and *ents (caller frees both).
 * Returns the count, or -1 (out of memory, or a reply not ours). */
static long rc_rows(const redisReply *const *hs, const int *lists, size_t nh, int64_t now_ms,
                    struct gw_roomcfg_entry **rows, struct rc_ent **ents)
{
    size_t n = 0;
    for (size_t i = 0; i < nh; i++) {
        if (hs[i]->type != REDIS_REPLY_ARRAY)
            return -1;
        n += hs[i]->elements / 2;
    }
    *rows = malloc((n ? n : 1) * sizeof **rows);
    *ents = malloc((n ? n : 1) * sizeof **ents);
    if (!*rows || !*ents)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < nh; i++) {
        for (size_t j = 0; j + 1 < hs[i]->elements; j += 2) {
            if (rc_parse(hs[i]->element[j], hs[i]->element[j + 1], lists[i], &(*rows)[k],
                         &(*ents)[k]) != 0)
                return -1;
            (*rows)[k].who = (*ents)[k].who;
            (*rows)[k].by = (*ents)[k].by;
            (*rows)[k].why = (*ents)[k].why;
            if ((*rows)[k].expires_ms != 0 && now_ms >= (*rows)[k].expires_ms)
                continue;
            k++;
        }
    }
    qsort(*rows, k, sizeof **rows, gw_roomcfg_entry_cmp);
    return (long)k;
}

/* A room's hash's field (HGETALL reply), or "". */
static const char *rc_field(const redisReply *h, const char *name)
{
    for (size_t j = 0; j + 1 < h->elements; j += 2)
        if (h->element[j]->type == REDIS_REPLY_STRING && strcmp(h->element[j]->str, name) == 0 &&
            h->element[j + 1]->type == REDIS_REPLY_STRING)
            return h->element[j + 1]->str;
    return "";
}

static void rc_give_load(struct gw_rstore *rs, const struct rc_arg *ra, const redisReply *reply)
{
    void *ctx = rs->rc_sink.ctx;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1 + GW_RCL_GBAN ||
        reply->element[0]->type != REDIS_REPLY_ARRAY) {
        rs->rc_sink.config(ctx, ra->tag, GW_STORE_EIO, NULL);
        return;
    }
    const redisReply *h = reply->element[0];
    const redisReply *hs[GW_RCL_GBAN];
    int lists[GW_RCL_GBAN];
    for (int l = 0; l < GW_RCL_GBAN; l++) {
        hs[l] = reply->element[1 + l];
        lists[l] = l;
    }
    struct gw_roomcfg_entry *rows = NULL;
    struct rc_ent *ents = NULL;
    long n = rc_rows(hs, lists, GW_RCL_GBAN, ra->now_ms, &rows, &ents);
    const char *owner = rc_field(h, "owner"), *topic = rc_field(h, "topic"),
               *by = rc_field(h, "topic_by"), *key = rc_field(h, "key");
    if (n < 0 || strlen(owner) > GW_NICK_MAX_BYTES || strlen(topic) > GW_ROOMCFG_TOPIC_MAX_BYTES ||
        strlen(by) > GW_ROOMCFG_BY_MAX_BYTES || strlen(key) > GW_ROOMCFG_KEY_MAX_BYTES) {
        rs->rc_sink.config(ctx, ra->tag, GW_STORE_EIO, NULL);
    } else {
        struct gw_roomcfg c = {
            .room = ra->room, .owner = owner, .topic = topic, .topic_by = by,
            .topic_ms = strtoll(rc_field(h, "topic_ms"), NULL, 10),
            .flags = (unsigned)strtoul(rc_field(h, "flags"), NULL, 10) & GW_ROOMCFG_FLAGS_ALL,
            .key = key, .entries = rows, .n = (size_t)n,
        };
        rs->rc_sink.config(ctx, ra->tag, GW_STORE_DONE, &c);
    }
    free(rows);
    free(ents);
}

static void on_roomcfg(void *arg, int status, const redisReply *reply)
{
    struct rc_arg *ra = arg;
    struct gw_rstore *rs = ra->rs;
    rs->rc_waiting--;
    if (rs->closing || !rs->rc_sink.answer) {
        free(ra);
        return;
    }
    void *ctx = rs->rc_sink.ctx;
    int ok = status == GW_REDIS_OK;
    switch (ra->kind) {
    case RK_LOAD:
        if (ok)
            rc_give_load(rs, ra, reply);
        else
            rs->rc_sink.config(ctx, ra->tag, GW_STORE_EIO, NULL);
        break;
    case RK_ENTRIES: {
        struct gw_roomcfg_entry *rows = NULL;
        struct rc_ent *ents = NULL;
        long n = ok ? rc_rows(&reply, &ra->list, 1, ra->now_ms, &rows, &ents) : -1;
        rs->rc_sink.entries(ctx, ra->tag, n < 0 ? GW_STORE_EIO : GW_STORE_DONE,
                            n < 0 ? NULL : rows, n < 0 ? 0 : (size_t)n);
        free(rows);
        free(ents);
        break;
    }
    default: {
        int st = GW_STORE_EIO;
        if (ok && reply->type == REDIS_REPLY_INTEGER) {
            if (reply->integer == 1)
                st = GW_STORE_DONE;
            else if (reply->integer == 2 && ra->kind == RK_SET)
                st = GW_ROOMCFG_FULL;
            else if (reply->integer == 0 && ra->kind == RK_CLEAR)
                st = GW_ROOMCFG_NONE;
        }
        rs->rc_sink.answer(ctx, ra->tag, st);
        break;
    }
    }
    free(ra);
}

/* Send a room config call: a script (s) or a command (s NULL). Returns
 * GW_STORE_PENDING or a failure (no answer). */
static int rc_send(struct gw_rstore *rs, const struct rc_arg *a, struct gw_redis_script *s,
                   int nkeys, int argc, const char **argv)
{
    size_t len[16];
    if (!rs->redis_up)
        return GW_STORE_EIO;
    if (rs->rc_waiting >= GW_RSTORE_ROOMCFG_CALLS_MAX)
        return GW_STORE_EBUSY;
    for (int i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    struct rc_arg *ra = malloc(sizeof *ra);
    if (!ra)
        return GW_STORE_ENOMEM;
    *ra = *a;
    ra->rs = rs;
    int rc = s ? gw_redis_eval(rs->redis, s, on_roomcfg, ra, nkeys, argc, argv, len)
               : gw_redis_command(rs->redis, on_roomcfg, ra, argc, argv, len);
    if (rc != 0) {
        free(ra);
        return rc == GW_REDIS_EBUSY ? GW_STORE_EBUSY
               : rc == GW_REDIS_ENOMEM ? GW_STORE_ENOMEM
                                       : GW_STORE_EIO;
    }
    rs->rc_waiting++;
    return GW_STORE_PENDING;
}

/* The notice every gateway gets: "C" what " " room. */
static void rc_notice(char *out, size_t cap, unsigned what, const char *room)
{
    snprintf(out, cap, "C%u %s", what, room);
}

#define RC_NAME_MAX_BYTES (sizeof RC_KEY + GW_ROOMCFG_ROOM_MAX_BYTES + 16)
#define RC_NOTICE_MAX_BYTES (16 + GW_ROOMCFG_ROOM_MAX_BYTES)

static int rc_hset(struct gw_rstore *rs, uint64_t tag, const char *room, unsigned what,
                   int argc, const char **fv)
{
    char key[RC_NAME_MAX_BYTES], notice[RC_NOTICE_MAX_BYTES];
    rc_key(key, sizeof key, room, -1);
    rc_notice(notice, sizeof notice, what, room);
    const char *argv[10] = {key, ROOMCFG_CHANNEL, notice};
    for (int i = 0; i < argc; i++)
        argv[3 + i] = fv[i];
    struct rc_arg a = {.tag = tag, .kind = RK_WRITE};
    return rc_send(rs, &a, rs->rc_hset_s, 1, 3 + argc, argv);
}

static int rcr_owner_set(void *ctx, uint64_t tag, const char *room, const char *owner)
{
    if (gw_roomcfg_owner_check(room, owner) != 0)
        return GW_STORE_EINVAL;
    const char *fv[] = {"owner", owner};
    return rc_hset(ctx, tag, room, GW_ROOMCFG_CH_OWNER, 2, fv);
}

static int rcr_topic_set(void *ctx, uint64_t tag, const char *room, const char *text,
                         const char *by, int64_t time_ms)
{
    if (gw_roomcfg_topic_check(room, text, by) != 0)
        return GW_STORE_EINVAL;
    char ms[24];
    snprintf(ms, sizeof ms, "%" PRId64, time_ms);
    const char *fv[] = {"topic", text, "topic_by", by, "topic_ms", ms};
    return rc_hset(ctx, tag, room, GW_ROOMCFG_CH_TOPIC, 6, fv);
}

static int rcr_settings_set(void *ctx, uint64_t tag, const char *room, unsigned flags,
                            const char *key)
{
    if (gw_roomcfg_settings_check(room, flags, key) != 0)
        return GW_STORE_EINVAL;
    char f[16];
    snprintf(f, sizeof f, "%u", flags);
    const char *fv[] = {"flags", f, "key", key};
    return rc_hset(ctx, tag, room, GW_ROOMCFG_CH_SETTINGS, 4, fv);
}

static int rcr_entry_set(void *ctx, uint64_t tag, const char *room,
                         const struct gw_roomcfg_entry *e)
{
    struct gw_rstore *rs = ctx;
    if (gw_roomcfg_entry_check(room, e) != 0)
        return GW_STORE_EINVAL;
    char key[RC_NAME_MAX_BYTES], zkey[RC_NAME_MAX_BYTES], notice[RC_NOTICE_MAX_BYTES], now[24],
        max[16], exp[24];
    char field[4 + GW_ROOMCFG_WHO_MAX_BYTES];
    char value[80 + GW_ROOMCFG_BY_MAX_BYTES + GW_ROOMCFG_WHY_MAX_BYTES];
    rc_key(key, sizeof key, room, e->list);
    rc_exp_key(zkey, sizeof zkey, room, e->list);
    snprintf(exp, sizeof exp, "%" PRId64, e->expires_ms);
    rc_notice(notice, sizeof notice, GW_ROOMCFG_CH_LIST(e->list), room);
    snprintf(field, sizeof field, "%d %s", e->kind, e->who);
    snprintf(value, sizeof value, "%" PRId64 " %" PRId64 " %zu %s%s", e->set_ms, e->expires_ms,
             strlen(e->by), e->by, e->why);
    snprintf(now, sizeof now, "%" PRId64, e->set_ms);
    snprintf(max, sizeof max, "%zu", gw_roomcfg_list_max(e->list));
    const char *argv[] = {key, zkey, field, value, now, max, ROOMCFG_CHANNEL, notice, exp};
    struct rc_arg a = {.tag = tag, .kind = RK_SET};
    return rc_send(rs, &a, rs->rc_set_s, 2, 9, argv);
}

static int rcr_entry_clear(void *ctx, uint64_t tag, const char *room, int list, int kind,
                           const char *who, int64_t now_ms)
{
    struct gw_rstore *rs = ctx;
    if (gw_roomcfg_clear_check(room, list, kind, who) != 0)
        return GW_STORE_EINVAL;
    char key[RC_NAME_MAX_BYTES], zkey[RC_NAME_MAX_BYTES], notice[RC_NOTICE_MAX_BYTES], now[24];
    char field[4 + GW_ROOMCFG_WHO_MAX_BYTES];
    rc_key(key, sizeof key, room, list);
    rc_exp_key(zkey, sizeof zkey, room, list);
    rc_notice(notice, sizeof notice, GW_ROOMCFG_CH_LIST(list), room);
    snprintf(field, sizeof field, "%d %s", kind, who);
    snprintf(now, sizeof now, "%" PRId64, now_ms);
    const char *argv[] = {key, zkey, field, now, ROOMCFG_CHANNEL, notice};
    struct rc_arg a = {.tag = tag, .kind = RK_CLEAR};
    return rc_send(rs, &a, rs->rc_clear_s, 2, 6, argv);
}

static int rcr_load(void *ctx, uint64_t tag, const char *room, int64_t now_ms)
{
    struct gw_rstore *rs = ctx;
    if (!rs->rc_sink.config || gw_roomcfg_room_check(room, GW_RCL_OP) != 0)
        return GW_STORE_EINVAL;
    char keys[1 + GW_RCL_GBAN][RC_NAME_MAX_BYTES];
    const char *argv[1 + GW_RCL_GBAN];
    for (int i = 0; i <= GW_RCL_GBAN; i++) {
        rc_key(keys[i], sizeof keys[i], room, i - 1);
        argv[i] = keys[i];
    }
    struct rc_arg a = {.tag = tag, .kind = RK_LOAD, .now_ms = now_ms};
    snprintf(a.room, sizeof a.room, "%s", room);
    return rc_send(rs, &a, rs->rc_load_s, 1 + GW_RCL_GBAN, 1 + GW_RCL_GBAN, argv);
}

static int rcr_entries(void *ctx, uint64_t tag, const char *room, int list, int64_t now_ms)
{
    struct gw_rstore *rs = ctx;
    if (!rs->rc_sink.entries || gw_roomcfg_list_max(list) == 0 ||
        gw_roomcfg_room_check(room, list) != 0)
        return GW_STORE_EINVAL;
    char key[RC_NAME_MAX_BYTES];
    rc_key(key, sizeof key, room, list);
    const char *argv[] = {"HGETALL", key};
    struct rc_arg a = {.tag = tag, .kind = RK_ENTRIES, .list = list, .now_ms = now_ms};
    return rc_send(rs, &a, NULL, 0, 2, argv);
}

/* "C" what " " room: a gateway changed a room's config. */
static void on_roomcfg_notice(struct gw_rstore *rs, const char *p, size_t n)
{
    size_t i = 1;
    uint64_t what = n && p[0] == 'C' ? payload_number(p, n, &i) : 0;
    size_t len = n - i;
    if (!what || what > UINT_MAX || len > GW_ROOMCFG_ROOM_MAX_BYTES ||
        memchr(p + i, '\0', len) || !rs->rc_sink.changed)
        return; /* not one of ours */
    char room[GW_ROOMCFG_ROOM_MAX_BYTES + 1];
    memcpy(room, p + i, len);
    room[len] = '\0';
    rs->rc_sink.changed(rs->rc_sink.ctx, room, (unsigned)what);
}

int gw_rstore_roomcfg(struct gw_rstore *rs, const struct gw_roomcfg_sink *sink,
                      struct gw_roomcfgs *out)
{
    rs->rc_sink = *sink;
    memset(out, 0, sizeof *out);
    out->ctx = rs;
    out->load = rcr_load;
    out->owner_set = rcr_owner_set;
    out->topic_set = rcr_topic_set;
    out->settings_set = rcr_settings_set;
    out->entry_set = rcr_entry_set;
    out->entry_clear = rcr_entry_clear;
    out->entries = rcr_entries;
    return 0;
}

/* ---- every account, for a command-line tool ---- */


/* A walk of the accounts: SCAN pages, each account's HGETALL sent as its
 * key is seen; over when the cursor is back to 0 and nothing waits. */
struct acct_list {
    struct gw_rstore *rs;
    void (*each)(void *arg, const struct gw_account *a);
    void (*done)(void *arg, int status);
    void *arg;
    size_t waiting; /* commands sent, not answered */
    int failed;
};

static void on_list_scan(void *arg, int status, const redisReply *reply);
static void on_list_hash(void *arg, int status, const redisReply *reply);

static void list_send(struct acct_list *l, gw_redis_reply_fn *cb, int argc, const char **argv)
{
    size_t len[6];
    for (int i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    if (gw_redis_command(l->rs->redis, cb, l, argc, argv, len) == 0)
        l->waiting++;
    else
        l->failed = 1;
}

/* After an answer: the end, when nothing waits. */
static void list_settle(struct acct_list *l)
{
    if (l->waiting)
        return;
    if (!l->rs->closing)
        l->done(l->arg, l->failed ? GW_STORE_EIO : GW_STORE_DONE);
    free(l);
}

static void on_list_scan(void *arg, int status, const redisReply *reply)
{
    struct acct_list *l = arg;
    l->waiting--;
    if (l->rs->closing || l->failed || status != GW_REDIS_OK) {
        l->failed = 1;
        list_settle(l);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        l->failed = 1;
        list_settle(l);
        return;
    }
    const redisReply *keys = reply->element[1];
    for (size_t i = 0; i < keys->elements && !l->failed; i++) {
        const redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING || !acct_hash_key(k->str, k->len))
            continue;
        const char *argv[] = {"HGETALL", k->str};
        list_send(l, on_list_hash, 2, argv);
    }
    const char *cursor = reply->element[0]->str;
    if (!l->failed && strcmp(cursor, "0") != 0) {
        const char *argv[] = {"SCAN", cursor, "MATCH", ACCT_KEY "*", "COUNT", LIST_SCAN_COUNT};
        list_send(l, on_list_scan, 6, argv);
    }
    list_settle(l);
}

static void on_list_hash(void *arg, int status, const redisReply *reply)
{
    struct acct_list *l = arg;
    l->waiting--;
    if (l->rs->closing || status != GW_REDIS_OK || reply->type != REDIS_REPLY_ARRAY) {
        l->failed = 1;
    } else if (reply->elements && !l->failed) { /* empty: removed since the SCAN */
        struct gw_account a;
        if (hash_account(reply, &a) == 0)
            l->each(l->arg, &a);
        else
            l->failed = 1;
    }
    list_settle(l);
}

int gw_rstore_account_list(struct gw_rstore *rs,
                           void (*each)(void *arg, const struct gw_account *a),
                           void (*done)(void *arg, int status), void *arg)
{
    if (!each || !done)
        return GW_STORE_EINVAL;
    if (!rs->redis_up)
        return GW_STORE_EIO;
    struct acct_list *l = calloc(1, sizeof *l);
    if (!l)
        return GW_STORE_ENOMEM;
    *l = (struct acct_list){.rs = rs, .each = each, .done = done, .arg = arg};
    const char *argv[] = {"SCAN", "0", "MATCH", ACCT_KEY "*", "COUNT", LIST_SCAN_COUNT};
    list_send(l, on_list_scan, 6, argv);
    if (l->failed) {
        free(l);
        return GW_STORE_EIO;
    }
    return GW_STORE_PENDING;
}

int gw_rstore_listen(struct gw_rstore *rs, uint64_t node)
{
    if (rs->node_chan[0])
        return GW_STORE_EINVAL;
    snprintf(rs->node_chan, sizeof rs->node_chan, GW_RSTORE_PREFIX "node:%" PRIu64, node);
    snprintf(rs->kept_key, sizeof rs->kept_key, GW_RSTORE_PREFIX "node:%" PRIu64 ":kept", node);
    if (gw_redis_subscribe(rs->redis, rs->node_chan, strlen(rs->node_chan)) != 0) {
        rs->node_chan[0] = '\0';
        return GW_STORE_ENOMEM;
    }
    return 0;
}

struct rows_arg {
    struct gw_rstore *rs;
    uint64_t tag;
    unsigned limit;
    int reverse;              /* BEFORE: the answer is newest first */
    uint64_t epoch;
};

static void on_rows(void *arg, int status, const redisReply *reply)
{
    struct rows_arg *ra = arg;
    struct gw_rstore *rs = ra->rs;
    if (rs->closing || !rs->sink.rows) {
        free(ra);
        return;
    }
    if (status != GW_REDIS_OK || reply->type != REDIS_REPLY_ARRAY || ra->epoch != rs->epoch) {
        rs->sink.rows(rs->sink.ctx, ra->tag, GW_STORE_EIO, NULL, 0, 0);
        free(ra);
        return;
    }
    size_t n = reply->elements < ra->limit ? reply->elements : ra->limit;
    struct gw_store_event *ev = n ? calloc(n, sizeof *ev) : NULL;
    if (n && !ev) {
        rs->sink.rows(rs->sink.ctx, ra->tag, GW_STORE_ENOMEM, NULL, 0, 0);
        free(ra);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (entry_event(reply->element[i], &ev[k]) == 0)
            k++;
    rs->sink.rows(rs->sink.ctx, ra->tag, GW_STORE_DONE, ev, k, reply->elements > ra->limit);
    free(ev);
    free(ra);
}

static int rs_read(void *ctx, const struct gw_store_read *rd)
{
    struct gw_rstore *rs = ctx;
    if (rd->kind == GW_STORE_SEARCH)
        return GW_STORE_ENOTSUP;
    if (!rs->redis_up || !rs->epoch)
        return GW_STORE_EIO;
    if (strlen(rd->room_key) > GW_ROOM_NAME_MAX_BYTES || !rd->limit ||
        rd->limit > GW_STORE_READ_MAX)
        return GW_STORE_EINVAL;
    struct rows_arg *ra = malloc(sizeof *ra);
    if (!ra)
        return GW_STORE_ENOMEM;
    *ra = (struct rows_arg){rs, rd->tag, rd->limit, rd->kind == GW_STORE_BEFORE, rs->epoch};
    char log[NAME_MAX_BYTES], edge[32], count[16];
    snprintf(log, sizeof log, GW_RSTORE_PREFIX "room:%s:log", rd->room_key);
    snprintf(count, sizeof count, "%u", rd->limit + 1); /* one more: is there more? */
    int rc;
    if (rd->kind == GW_STORE_BEFORE) {
        if (rd->id)
            snprintf(edge, sizeof edge, "(%" PRIu64 "-0", rd->id);
        else
            snprintf(edge, sizeof edge, "+");
        const char *argv[] = {"XREVRANGE", log, edge, "-", "COUNT", count};
        size_t len[] = {9, strlen(log), strlen(edge), 1, 5, strlen(count)};
        rc = gw_redis_command(rs->redis, on_rows, ra, 6, argv, len);
    } else {
        snprintf(edge, sizeof edge, "(%" PRIu64 "-0", rd->id);
        const char *argv[] = {"XRANGE", log, edge, "+", "COUNT", count};
        size_t len[] = {6, strlen(log), strlen(edge), 1, 5, strlen(count)};
        rc = gw_redis_command(rs->redis, on_rows, ra, 6, argv, len);
    }
    if (rc != 0) {
        free(ra);
        return rc == GW_REDIS_EBUSY ? GW_STORE_EBUSY : GW_STORE_EIO;
    }
    return GW_STORE_PENDING;
}

/* ---- the position check ---- */

static void on_top(void *arg, int status, const redisReply *reply)
{
    struct room_arg *ta = arg;
    struct gw_rstore *rs = ta->rs;
    struct room *r = rs->closing || ta->epoch != rs->epoch ? NULL : find(rs, ta->key);
    free(ta);
    if (!r || status != GW_REDIS_OK || reply->type != REDIS_REPLY_STRING)
        return;
    /* What was there a check ago and has still not come here came
     * nowhere near here. (What came since may be on its way: a busy
     * gateway reads its subscription late.) */
    if (r->seen_top > r->last)
        recover(rs, r);
    r->seen_top = strtoull(reply->str, NULL, 10);
}

/* ---- retention by age ---- */

static void scan(struct gw_rstore *rs, const char *cursor, size_t len);

static void on_trimmed(void *arg, int status, const redisReply *reply)
{
    struct gw_rstore *rs = arg;
    if (status != GW_REDIS_OK || reply->type != REDIS_REPLY_INTEGER || reply->integer == 0)
        return;
    long long n = reply->integer;
    if (n < 0) { /* nothing left of the room: it went */
        rs->stats.forgotten++;
        n = -n;
    }
    rs->stats.expired += (uint64_t)n;
    if ((unsigned long long)n >= GW_RSTORE_TRIM_BATCH)
        rs->trim_again = 1;
}

/* SCAN's answer: the next cursor ("0": done) and a page of streams. */
static void on_scanned(void *arg, int status, const redisReply *reply)
{
    struct gw_rstore *rs = arg;
    if (rs->closing)
        return;
    if (status != GW_REDIS_OK || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        rs->scanning = 0; /* again at the next pass */
        return;
    }
    char batch[16];
    snprintf(batch, sizeof batch, "%u", GW_RSTORE_TRIM_BATCH);
    const redisReply *keys = reply->element[1];
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        if (k->type != REDIS_REPLY_STRING)
            continue;
        /* The room's hash is its stream's key without ":log". */
        if (k->len <= 4 || k->len - 4 >= NAME_MAX_BYTES || memcmp(k->str + k->len - 4, ":log", 4))
            continue;
        const char *argv[] = {k->str, k->str, FLOOR_KEY, rs->cutoff, batch};
        size_t len[] = {k->len, k->len - 4, strlen(FLOOR_KEY), strlen(rs->cutoff), strlen(batch)};
        (void)gw_redis_eval(rs->redis, rs->trim, on_trimmed, rs, 3, 5, argv, len);
    }
    const redisReply *c = reply->element[0];
    if (strcmp(c->str, "0") == 0)
        rs->scanning = 0;
    else
        scan(rs, c->str, c->len);
}

static void scan(struct gw_rstore *rs, const char *cursor, size_t len)
{
    const char *argv[] = {"SCAN", cursor, "MATCH", LOG_PATTERN, "COUNT", "100"};
    size_t alen[] = {4, len, 5, strlen(LOG_PATTERN), 5, 3};
    if (gw_redis_command(rs->redis, on_scanned, rs, 6, argv, alen) != 0)
        rs->scanning = 0;
}

static void retain(struct gw_rstore *rs, int64_t now_ms)
{
    if (!rs->o.history_days || rs->scanning ||
        (now_ms - rs->retain_at < (int64_t)GW_RSTORE_RETAIN_MS && !rs->trim_again))
        return;
    rs->retain_at = now_ms;
    rs->trim_again = 0;
    rs->scanning = 1;
    snprintf(rs->cutoff, sizeof rs->cutoff, "%" PRId64,
             now_ms - (int64_t)rs->o.history_days * 86400000);
    scan(rs, "0", 1);
}

void gw_rstore_tick(struct gw_rstore *rs, int64_t now_ms)
{
    if (!rs)
        return;
    rs->now = now_ms;
    once_flush(rs);
    if (rs->unsure) {
        /* Appends whose fate Redis has not told in time: their senders
         * are told they were not kept. */
        if (!rs->unsure_since)
            rs->unsure_since = now_ms;
        else if (now_ms - rs->unsure_since >= (int64_t)GW_RSTORE_UNSURE_MS)
            settle_unsure(rs, 0, 1);
        else
            ask_kept(rs);
    }
    if (now_ms - rs->last_check < (int64_t)GW_RSTORE_CHECK_MS)
        return;
    rs->last_check = now_ms;
    if (!rs->redis_up)
        return;
    if (!rs->epoch) {
        ask_epoch(rs);
        return;
    }
    /* The epoch too: a Redis that lost its data and took no append since. */
    ask_epoch(rs);
    retain(rs, now_ms);
    for (size_t b = 0; b < ROOM_BUCKETS; b++)
        for (struct room *r = rs->buckets[b]; r; r = r->next) {
            if (r->reading)
                continue;
            struct room_arg *ta = room_arg_new(rs, r);
            if (!ta)
                return;
            const char *argv[] = {"HGET", r->chan, "top"};
            size_t len[] = {4, strlen(r->chan), 3};
            if (gw_redis_command(rs->redis, on_top, ta, 3, argv, len) != 0) {
                free(ta);
                return;
            }
        }
}

/* ---- life ---- */

int gw_rstore_open(uv_loop_t *loop, const struct gw_rstore_opts *o,
                   const struct gw_store_sink *sink, struct gw_rstore **out, char *err,
                   size_t errlen)
{
    *out = NULL;
    struct gw_rstore *rs = calloc(1, sizeof *rs);
    if (!rs) {
        snprintf(err, errlen, "out of memory");
        return GW_STORE_ENOMEM;
    }
    rs->loop = loop;
    rs->sink = *sink;
    rs->o = *o;
    if (!rs->o.max_events)
        rs->o.max_events = GW_RSTORE_MAX_EVENTS_DEFAULT;
    snprintf(rs->epoch_key, sizeof rs->epoch_key, GW_RSTORE_PREFIX "epoch");
    snprintf(rs->kept_key, sizeof rs->kept_key, GW_RSTORE_PREFIX "node:0:kept");
    snprintf(rs->max_arg, sizeof rs->max_arg, "%u", rs->o.max_events);
    snprintf(rs->kept_ttl_arg, sizeof rs->kept_ttl_arg, "%u", GW_RSTORE_KEPT_TTL_MS);
    snprintf(rs->why, sizeof rs->why, "redis: connecting");
    struct gw_redis_opts ro = {
        .url = o->url,
        .command_ms = o->command_ms,
        .probe_idle_ms = o->probe_idle_ms,
        .arg = rs,
        .log = on_log,
        .state = on_state,
        .message = on_message,
        .resubscribed = on_resubscribed,
        .subscribed = on_subscribed,
    };
    char why[GW_REDIS_WHY_MAX_BYTES];
    int rc = gw_redis_new(loop, &ro, &rs->redis, why, sizeof why);
    if (rc != 0) {
        snprintf(err, errlen, "%s", why);
        free(rs);
        return rc == GW_REDIS_EINVAL ? GW_STORE_EINVAL : GW_STORE_EIO;
    }
    rc = gw_redis_script(rs->redis, append_lua, sizeof append_lua - 1, &rs->append);
    if (rc == 0)
        rc = gw_redis_script(rs->redis, ident_lua, sizeof ident_lua - 1, &rs->ident);
    if (rc == 0)
        rc = gw_redis_script(rs->redis, trim_lua, sizeof trim_lua - 1, &rs->trim);
    if (rc == 0)
        rc = gw_redis_script(rs->redis, once_lua, sizeof once_lua - 1, &rs->once_script);
    if (rc == 0)
        rc = gw_redis_script(rs->redis, forget_lua, sizeof forget_lua - 1, &rs->forget);
    const struct {
        const char *src;
        size_t len;
        struct gw_redis_script **out;
    } acct[] = {
        {acct_create_lua, sizeof acct_create_lua - 1, &rs->acct_create},
        {acct_update_lua, sizeof acct_update_lua - 1, &rs->acct_update},
        {acct_remove_lua, sizeof acct_remove_lua - 1, &rs->acct_remove},
        {acct_keep_lua, sizeof acct_keep_lua - 1, &rs->acct_keep},
        {acct_find_session_lua, sizeof acct_find_session_lua - 1, &rs->acct_find_session},
        {acct_drop_lua, sizeof acct_drop_lua - 1, &rs->acct_drop},
        {acct_index_lua, sizeof acct_index_lua - 1, &rs->acct_index},
        {acct_room_lua, sizeof acct_room_lua - 1, &rs->acct_room},
        {acct_rooms_lua, sizeof acct_rooms_lua - 1, &rs->acct_rooms},
        {acct_mark_lua, sizeof acct_mark_lua - 1, &rs->acct_mark},
        {acct_pm_lua, sizeof acct_pm_lua - 1, &rs->acct_pm},
        {acct_pms_lua, sizeof acct_pms_lua - 1, &rs->acct_pms},
        {rc_hset_lua, sizeof rc_hset_lua - 1, &rs->rc_hset_s},
        {rc_set_lua, sizeof rc_set_lua - 1, &rs->rc_set_s},
        {rc_clear_lua, sizeof rc_clear_lua - 1, &rs->rc_clear_s},
        {rc_load_lua, sizeof rc_load_lua - 1, &rs->rc_load_s},
    };
    for (size_t i = 0; rc == 0 && i < sizeof acct / sizeof acct[0]; i++)
        rc = gw_redis_script(rs->redis, acct[i].src, acct[i].len, acct[i].out);
    if (rc == 0)
        rc = gw_redis_subscribe(rs->redis, PRESENCE_CHANNEL, strlen(PRESENCE_CHANNEL));
    if (rc == 0)
        rc = gw_redis_subscribe(rs->redis, GENERATIONS_CHANNEL, strlen(GENERATIONS_CHANNEL));
    if (rc == 0)
        rc = gw_redis_subscribe(rs->redis, ROOMCFG_CHANNEL, strlen(ROOMCFG_CHANNEL));
    if (rc != 0) {
        snprintf(err, errlen, "redis: %s", gw_redis_strerror(rc));
        gw_redis_free(rs->redis);
        free(rs);
        return GW_STORE_EIO;
    }
    *out = rs;
    return 0;
}

void gw_rstore_store(struct gw_rstore *rs, struct gw_store *out)
{
    memset(out, 0, sizeof *out);
    out->ctx = rs;
    out->kind = "redis";
    out->flags = GW_STORE_ORDERS;
    out->append = rs_append;
    out->append_once = rs_append_once;
    out->read = rs_read;
    out->watch = rs_watch;
    out->unwatch = rs_unwatch;
    out->forget = rs_forget;
    out->publish = rs_publish;
    out->presence = rs_presence;
    out->private_to = rs_private_to;
    out->ident_keep = rs_ident_keep;
    out->ident_touch = rs_ident_touch;
    out->ident_find = rs_ident_find;
}

int gw_rstore_healthy(const struct gw_rstore *rs, const char **why)
{
    if (rs->redis_up && rs->epoch)
        return 1;
    if (why)
        *why = rs->redis_up ? "redis: learning the epoch" : rs->why;
    return 0;
}

uint64_t gw_rstore_epoch(const struct gw_rstore *rs)
{
    return rs->epoch;
}

void gw_rstore_stats(const struct gw_rstore *rs, struct gw_rstore_stats *st)
{
    *st = rs->stats;
}

void gw_rstore_close(struct gw_rstore *rs)
{
    if (!rs)
        return;
    rs->closing = 1;
    /* Callbacks of what waits come from gw_redis_free and find closing. */
    gw_redis_free(rs->redis);
    for (size_t b = 0; b < ROOM_BUCKETS; b++) {
        struct room *r = rs->buckets[b];
        while (r) {
            struct room *next = r->next;
            drop_held(r);
            free(r);
            r = next;
        }
    }
    free(rs->sent);
    for (size_t i = 0; i < rs->nonce; i++)
        free(rs->once[i]);
    free(rs->once);
    free(rs);
}
