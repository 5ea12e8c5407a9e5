#!/usr/bin/env python3
"""fts_batch.py [N] [BATCH]: what indexing a batch of events for full-text
search costs in SQLite, done four ways.

Writes N events (20,000) shaped as the gateway's SQLite store keeps them
(gateway/store/gw_store_sqlite.c: the events table, the FTS5 table over their
text, WAL and synchronous=NORMAL) in transactions of BATCH (200), into a
temporary directory removed at the end, through the SQLite library that
Python's sqlite3 module links (print below), and prints microseconds per
event for:

  no-fts                 the events alone (no FTS5 table)
  trigger-per-row        the gateway's way: one INSERT per event, an AFTER
                         INSERT trigger adding its text to the FTS5 table
  trigger-multi-row      one INSERT of the whole batch (the trigger fires
                         inside one statement)
  per-row+fts-per-batch  one INSERT per event without the trigger, then one
                         INSERT INTO events_fts ... SELECT per batch

Not a test: a measurement for bench/history-2026.md ("Where the commits'
time goes"). Nothing leaves this machine.
"""
import os
import random
import sqlite3
import sys
import tempfile
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
BATCH = int(sys.argv[2]) if len(sys.argv) > 2 else 200
WORDS = ("hola qué tal the build is green again who broke main lunch at noon I pushed a fix "
         "for the flaky test ok thanks see you tomorrow café deploy tonight review please").split()
SCHEMA = """
CREATE TABLE events(k INTEGER PRIMARY KEY, time INTEGER NOT NULL, type INTEGER NOT NULL,
  json TEXT NOT NULL, line TEXT NOT NULL, text TEXT);
CREATE VIRTUAL TABLE events_fts USING fts5(text, content='events', content_rowid='k',
  tokenize='unicode61 remove_diacritics 2');
"""
TRIGGER = ("CREATE TRIGGER events_ai AFTER INSERT ON events WHEN new.text IS NOT NULL BEGIN"
           " INSERT INTO events_fts(rowid, text) VALUES (new.k, new.text); END;")
INSERT = ("INSERT OR IGNORE INTO events(k, time, type, json, line, text) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
ROOM = 1 << 40  # room number 1 in the key's high bits, as the store keys them


def make_rows():
    random.seed(1)
    rows = []
    for i in range(N):
        text = " ".join(random.choice(WORDS) for _ in range(3 + random.randrange(12)))
        t = 1700000000000 + i * 100
        js = ('{"type":"message","room":"#lobby","id":%d,"time":%d,"pid":7,"nick":"user7",'
              '"via":"web","text":"%s"}' % (i + 1, t, text))
        rows.append((ROOM | (i + 1), t, 1, js, "user7: " + text, text))
    return rows


def run(dirname, name, rows):
    path = os.path.join(dirname, name + ".db")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    if name == "no-fts":
        db.executescript(SCHEMA.split("CREATE VIRTUAL")[0])
    else:
        db.executescript(SCHEMA)
    if name in ("trigger-per-row", "trigger-multi-row"):
        db.execute(TRIGGER)
    t0 = time.perf_counter()
    for b in range(0, N, BATCH):
        chunk = rows[b:b + BATCH]
        db.execute("BEGIN IMMEDIATE")
        if name == "trigger-multi-row":
            db.execute("INSERT OR IGNORE INTO events(k, time, type, json, line, text) VALUES " +
                       ",".join(["(?,?,?,?,?,?)"] * len(chunk)), [x for r in chunk for x in r])
        else:
            for r in chunk:
                db.execute(INSERT, r)
            if name == "per-row+fts-per-batch":
                db.execute("INSERT INTO events_fts(rowid, text) SELECT k, text FROM events "
                           "WHERE k BETWEEN ?1 AND ?2 AND text IS NOT NULL",
                           (chunk[0][0], chunk[-1][0]))
        db.execute("COMMIT")
    dt = time.perf_counter() - t0
    db.close()
    print("%-22s %7.1f us per event (%d events in %.2f s)" % (name, dt / N * 1e6, N, dt))


def main():
    print("SQLite %s, %d events, %d per transaction" % (sqlite3.sqlite_version, N, BATCH))
    rows = make_rows()
    with tempfile.TemporaryDirectory(prefix="fts_batch.") as d:
        for name in ("no-fts", "trigger-per-row", "trigger-multi-row", "per-row+fts-per-batch"):
            run(d, name, rows)


if __name__ == "__main__":
    main()
