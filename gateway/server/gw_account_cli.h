/*
 * gw_account_cli.h - the operator's accounts from the command line:
 *
 *   wintalk-gateway account add NICK [--admin]
 *   wintalk-gateway account passwd NICK
 *   wintalk-gateway account del NICK
 *   wintalk-gateway account admin NICK on|off
 *   wintalk-gateway account list
 *
 * with the gateway's store options (--store sqlite|redis, --data-dir,
 * --redis, --max-nick-chars and their WINTALK_* variables, read by
 * gw_config_parse as the gateway reads them). --store memory keeps
 * nothing and is refused. What --registration closed leaves: accounts
 * made by the operator (or by a site's JWT).
 *
 * The nick is checked and keyed as the hub checks a /nick (gw_nick_norm
 * with the same --max-nick-chars: NFC, case folding, guest-N and "you"
 * refused): the account's key is the nick's key, its nick the NFC
 * spelling given. The password, for add and passwd: with standard input a
 * terminal, typed twice without echo; else one line read from standard
 * input (its "\n", or "\r\n", taken off), so that a script can say
 *   printf '%s\n' "$PW" | wintalk-gateway account add alice
 * 1 to GW_PASSWORD_MAX_BYTES bytes (longer is refused, never cut). It is
 * hashed (gw_password_hash: Argon2id) before the store is opened, and
 * every copy is wiped (OPENSSL_cleanse). passwd moves the account's
 * generation on: every session of it ends. del removes the account and
 * its sessions. list prints one line per account in key order: its nick,
 * its roles ("admin" or "-"), when it was made (UTC, ISO 8601) and its
 * generation, separated by tabs.
 *
 * SQLite beside a running gateway. A gateway holds an exclusive flock on
 * DIR/wintalk.lock while it runs, so that two gateways never share one
 * database (their batches, room numbers and ids would mix). An operator
 * must still be able to add an account then. The tool does not take that
 * lock: it opens the engine with opts.beside (gw_store_sqlite.h), a
 * connection of its own to DIR/wintalk.db with no lock of the directory,
 * no threads, and a busy timeout of seconds, and uses the engine's own
 * synchronous account calls, so the SQL of accounts stays in one place.
 * That is safe with or without a gateway: SQLite's own locks (WAL) keep
 * the writers apart, each write is one transaction of a statement or two
 * (microseconds: WAL with synchronous=NORMAL writes no fsync at commit,
 * far below the gateway's GW_SQLITE_BUSY_MS), the tool touches only the
 * tables of accounts and sessions, and the gateway keeps no copy of them
 * (its finds read the database). The database must have this program's
 * schema exactly: another is refused with words. When there is no
 * database yet, add makes it exactly as the gateway would, by opening the
 * engine the gateway's way (the lock, schema 2, a new epoch); a database
 * of an older schema is brought up to date the same way when no gateway
 * holds the directory. The other commands do not make a database: with
 * none, list prints nothing and the others find no account.
 *
 * Redis: the engine (gw_rstore_open) on a private libuv loop, run until
 * each call is answered; Redis not ready or not answering within
 * GW_ACCOUNT_CLI_REDIS_MS is EX_UNAVAILABLE.
 *
 * Exit statuses (sysexits.h), each with a line in words on stderr:
 *   0  done (what was done on stdout)
 *   64 EX_USAGE        a bad command line, a nick the hub would refuse,
 *                      --store memory
 *   65 EX_DATAERR      no such account; the account exists already; a
 *                      password refused (empty, too long, the two typed
 *                      differ)
 *   69 EX_UNAVAILABLE  the store cannot be opened or does not answer
 *   70 EX_SOFTWARE     the password could not be hashed
 *   74 EX_IOERR        the password could not be read; the store failed
 *                      to read or write
 *
 * Part of the program (server/): it reads the terminal, the clock and the
 * store, and prints. Knows nothing of the hub.
 */
#ifndef GW_ACCOUNT_CLI_H
#define GW_ACCOUNT_CLI_H

/* How long Redis has to be ready, and then to answer each call. */
#define GW_ACCOUNT_CLI_REDIS_MS 5000u

/* Accounts list collects from Redis (its SCAN gives no order, and the
 * list is printed in key order): past it the list is refused. */
#define GW_ACCOUNT_CLI_LIST_MAX 100000u

/*
 * Run `wintalk-gateway account ...`: argv[0] the program, argv[1]
 * "account", the rest as above. Reads the environment (WINTALK_*) and
 * standard input, writes standard output and standard error. Returns an
 * exit status (sysexits.h), as listed above.
 */
int gw_account_cli(int argc, char **argv);

#endif /* GW_ACCOUNT_CLI_H */
