'use strict';
// table.js RESULTS.jsonl: the benchmark tables. Each figure of the gateway
// with its SQLite store (hub "gateway", the default) next to the gateway
// with its memory store ("gateway-memory") and the Node.js baseline
// ("node") from the same run, with the ratios SQLite / memory and
// SQLite / node; then the Redis store's: one gateway on Redis
// ("gateway-redis") and two on one Redis ("gateway-redis2"), with their
// ratios to SQLite from the same run and Redis' own figures (its CPU, its
// commands per message sent); the targets checked. With a run of
// BENCH_BEFORE (hub "gateway-before": another build of the gateway, its
// SQLite store), each figure of the gateway before and after, with the ratio
// after / before. Prints Markdown.
const fs = require('fs');

const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
const runs = {};
// The head lines of a before/after run: {"meta":"before"|"after", ...}.
const meta = {};
for (const l of lines) {
  let r;
  try { r = JSON.parse(l); } catch (e) { continue; }
  if (typeof r.meta === 'string') { meta[r.meta] = r; continue; }
  if (!r.label || r.label.endsWith('-probe')) continue;
  derive(r);
  runs[`${r.label}/${r.hub}`] = r;
}

// Figures computed from a run's raw fields: the hub's /metrics counters
// over the sending (loadgen --metrics-port: m_events, m_stored, m_batches,
// m_commit_s, and the gauge m_commit_max_s).
function derive(r) {
  const per = (n) => (typeof n === 'number' && r.send_s > 0 ? n / r.send_s : undefined);
  // Events the store took per second: committed (SQLite), appended (Redis:
  // EVALSHA answered, by both gateways), or accepted by the hub (memory,
  // where taking an event is keeping it in the ring).
  const redis = typeof r.hub === 'string' && r.hub.startsWith('gateway-redis');
  r.events_per_s = per(r.hub === 'gateway' ? r.m_stored
    : redis ? (typeof r.m_stored === 'number' ? r.m_stored + (r.m2_stored || 0) : undefined)
      : r.m_events);
  // Redis (loadgen --redis-port: INFO's counters over the sending), per
  // message sent. The round trips are the commands the gateways sent:
  // EVALSHA (appends), XRANGE and XREVRANGE (reads of a room's stream:
  // recovery, history; an XREVRANGE may come inside the latest-events
  // EVAL, and then counts twice here), EVAL and HGET (the check every 5 s
  // of each gateway: the epoch, and each room's top) and the PUBLISHes no
  // script made (PUBLISH minus XADD: each append kept makes one of each).
  if (typeof r.r_evalsha === 'number' && r.sent > 0) {
    const pubOwn = Math.max(0, r.r_publish - r.r_xadd);
    const reads = r.r_xrange + r.r_xrevrange;
    const checks = r.r_eval + r.r_hget;
    r.rt_evalsha = r.r_evalsha / r.sent;
    r.rt_publish = pubOwn / r.sent;
    r.rt_reads = reads / r.sent;
    r.rt_checks = checks / r.sent;
    r.rt_all = (r.r_evalsha + pubOwn + reads + checks) / r.sent;
    r.redis_cmds = r.r_commands / r.sent;
    r.redis_in_b = r.r_net_in / r.sent;
    r.redis_out_b = r.r_net_out / r.sent;
  }
  if (typeof r.cross === 'number' && r.delivered > 0) r.cross_share = r.cross / r.delivered;
  // CPU per message (µs) over the sending: the gateways' and Redis', and
  // what one core of Redis would carry at that cost.
  if (r.cpu_wall_s > 0 && r.sent > 0) {
    if (r.redis_cpu >= 0) r.redis_us = (r.redis_cpu * r.cpu_wall_s * 1e6) / r.sent;
    if (r.hub_cpu >= 0) r.hub_us = (r.hub_cpu * r.cpu_wall_s * 1e6) / r.sent;
    if (r.redis_us > 0) r.redis_core_msgs = 1e6 / r.redis_us;
  }
  if (r.m_batches > 0) {
    r.batch_events = r.m_stored / r.m_batches;
    r.commit_ms_mean = (r.m_commit_s / r.m_batches) * 1000;
  }
  if (typeof r.m_commit_max_s === 'number' && r.m_batches > 0) r.commit_ms_max = r.m_commit_max_s * 1000;
  if (typeof r.m_commit_s === 'number' && r.m_batches > 0 && r.send_s > 0) {
    r.commit_share = r.m_commit_s / r.send_s;
  }
  if (typeof r.db_bytes === 'number') r.db_mb = r.db_bytes / 1e6;
}

const HUBS = ['gateway', 'gateway-memory', 'node'];
const get = (label, hub) => runs[`${label}/${hub}`];
const fmt = (v, unit) => {
  if (v === undefined || v === null || Number.isNaN(v)) return 'n/a';
  if (typeof v === 'string') return v; // made up already
  if (unit === 'ms') return v.toFixed(2);
  if (unit === '3') return v.toFixed(3);
  if (unit === 'MB') return v.toFixed(1);
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return String(Math.round(v * 100) / 100);
};
const ratioOf = (a, b) => (typeof a === 'number' && typeof b === 'number' && a >= 0 && b > 0
  ? `${(a / b).toFixed(2)}x` : 'n/a');

const rows = [];
// The same figures, the gateway before (hub gateway-before) and after.
const BA = ['gateway-before', 'gateway'];
const baRows = [];
function row(label, title, key, unit, better) {
  const v = HUBS.map((h) => { const r = get(label, h); return r ? r[key] : undefined; });
  const ok = (r) => (r ? (r.all_delivered === false ? ' (MISSING)' : '') : '');
  const cell = (h, x) => `${fmt(x, unit)}${key === 'deliveries_per_s' ? ok(get(label, h)) : ''}`;
  const cells = HUBS.map((h, i) => cell(h, v[i]));
  rows.push([label, `${title}${better ? ` (${better})` : ''}`, ...cells,
    ratioOf(v[0], v[1]), ratioOf(v[0], v[2])]);
  const ba = BA.map((h) => { const r = get(label, h); return r ? r[key] : undefined; });
  baRows.push([label, `${title}${better ? ` (${better})` : ''}`, ...BA.map((h, i) => cell(h, ba[i])),
    ratioOf(ba[1], ba[0])]);
}
// Where the SQLite store's commits went (the gateway's /metrics).
function commitRows(label, there) {
  row(label, `events per commit batch${there}`, 'batch_events', '', '');
  row(label, `commit time per batch, mean ms${there}`, 'commit_ms_mean', 'ms', '');
  row(label, 'slowest commit since the hub started, ms', 'commit_ms_max', 'ms', '');
  row(label, `share of the sending time spent committing${there}`, 'commit_share', '', '');
}

row('idle-1k', 'bytes per connection', 'bytes_per_conn', 'B', 'lower is better');
row('idle-1k', 'connections ready', 'ready', '', '');
row('idle-10k', 'bytes per connection', 'bytes_per_conn', 'B', 'lower is better');
row('idle-10k', 'connections ready', 'ready', '', '');
row('setup-10k', 'set-ups per second', 'setup_per_s', '', 'higher is better');
row('setup-10k', 'set-up failures', 'setup_failed', '', '');
row('setup-10k', 'set-up p99 ms', 'setup_p99_ms', 'ms', '');
row('fanout', 'deliveries per second', 'deliveries_per_s', '', 'higher is better');
row('fanout', 'latency p50 ms', 'p50_ms', 'ms', '');
row('fanout', 'latency p99 ms', 'p99_ms', 'ms', 'lower is better');
row('fanout', 'latency p99.9 ms', 'p999_ms', 'ms', '');
row('fanout', 'latency max ms', 'max_ms', 'ms', '');
row('fanout', 'hub CPU share (of one core)', 'hub_cpu', '', '');
row('fanout', 'generator CPU share (of one core)', 'gen_cpu', '', '');
commitRows('fanout', '');
row('chat-100', 'deliveries per second at 100 msg/s', 'deliveries_per_s', '', '');
row('chat-100', 'latency p50 ms', 'p50_ms', 'ms', '');
row('chat-100', 'latency p99 ms', 'p99_ms', 'ms', 'lower is better');
row('chat-100', 'latency max ms', 'max_ms', 'ms', '');
for (const s of ['chat-max', 'bridge-tcp-web', 'bridge-web-tcp']) {
  row(s, 'highest rate, msg/s (p99 < 50 ms, all delivered)', 'rate', '', 'higher is better');
  row(s, 'deliveries per second there', 'deliveries_per_s', '', 'higher is better');
  row(s, 'latency p99 ms there', 'p99_ms', 'ms', '');
  row(s, 'hub CPU share there', 'hub_cpu', '', '');
  row(s, 'generator CPU share there', 'gen_cpu', '', '');
  if (s === 'chat-max') commitRows(s, ' there');
}
row('write', 'events committed per second (SQLite) or taken (memory), from /metrics',
  'events_per_s', '', 'higher is better');
row('write', 'messages sent per second (each to 99 others)', 'msgs_per_s', '', 'higher is better');
row('write', 'deliveries per second', 'deliveries_per_s', '', '');
row('write', 'latency p50 ms', 'p50_ms', 'ms', '');
row('write', 'latency p99 ms', 'p99_ms', 'ms', 'lower is better');
row('write', 'latency max ms', 'max_ms', 'ms', '');
row('write', 'hub CPU share (of one core)', 'hub_cpu', '', '');
row('write', 'generator CPU share (of one core)', 'gen_cpu', '', '');
commitRows('write', '');
row('startup-1m', 'start to /readyz 200, ms, median of 3', 'readyz_ms', 'ms', 'lower is better');
row('startup-1m', 'start to /readyz 200, ms, slowest of 3', 'readyz_ms_max', 'ms', '');
row('startup-1m', 'start to the "listening" log line, ms, median of 3', 'listening_ms', 'ms', '');
row('startup-1m', 'events kept (written by store_fill before the starts)', 'fill_events', '', '');
row('startup-1m', 'database size, MB (wintalk.db and its WAL)', 'db_mb', 'MB', '');
row('startup-1m', 'store_fill: events written per second, 1,000 per commit', 'fill_events_per_s', '', '');

const head = ['scenario', 'figure', 'gateway, SQLite', 'gateway, memory', 'node ws',
  'SQLite / memory', 'SQLite / node'];
// A figure no hub has (a scenario not run, BENCH_ONLY) is left out.
const out = [head, head.map(() => '---'), ...rows.filter((r) => r.slice(2, 5).some((c) => c !== 'n/a'))];
for (const r of out) console.log(`| ${r.join(' | ')} |`);

// The issues' targets; each names the runs it needs, and says "not run"
// when one is missing.
const val = (label, hub, key) => (get(label, hub) || {})[key];
const ratio = (label, key, a, b) => {
  const x = val(label, a, key);
  const y = val(label, b, key);
  return typeof x === 'number' && y > 0 ? x / y : NaN;
};
const gw = (label) => get(label, 'gateway') || {};
const startupEvents = val('startup-1m', 'gateway', 'fill_events');
const checks = [
  ['chat: highest sustainable deliveries/s >= 4x node', [['chat-max', 'gateway'], ['chat-max', 'node']],
    ratio('chat-max', 'deliveries_per_s', 'gateway', 'node') >= 4],
  ['fan-out: deliveries/s >= 4x node', [['fanout', 'gateway'], ['fanout', 'node']],
    ratio('fanout', 'deliveries_per_s', 'gateway', 'node') >= 4],
  ['fan-out: p99 below node', [['fanout', 'gateway'], ['fanout', 'node']],
    gw('fanout').p99_ms < val('fanout', 'node', 'p99_ms')],
  ['idle: <= 2 KiB per connection at 10,000', [['idle-10k', 'gateway'], ['idle-10k', 'node']],
    gw('idle-10k').ready >= 10000 && gw('idle-10k').bytes_per_conn >= 0 &&
    gw('idle-10k').bytes_per_conn <= 2048],
  ['fan-out: deliveries/s with SQLite >= 0.8x memory',
    [['fanout', 'gateway'], ['fanout', 'gateway-memory']],
    ratio('fanout', 'deliveries_per_s', 'gateway', 'gateway-memory') >= 0.8],
  ['chat: highest sustainable deliveries/s with SQLite >= 0.8x memory',
    [['chat-max', 'gateway'], ['chat-max', 'gateway-memory']],
    ratio('chat-max', 'deliveries_per_s', 'gateway', 'gateway-memory') >= 0.8],
  [`startup with ${fmt(startupEvents, '')} events kept: /readyz 200 in under 1 s (median of 3)`,
    [['startup-1m', 'gateway']],
    startupEvents >= 1000000 && val('startup-1m', 'gateway', 'readyz_ms') < 1000 &&
    !val('startup-1m', 'gateway', 'error')],
  ['everything delivered in every gateway scenario', [['fanout', 'gateway']],
    Object.values(runs).filter((r) => r.hub.startsWith('gateway') && r.hub !== 'gateway-before' &&
      r.senders > 0).every((r) => r.all_delivered === true) &&
    ['fanout', 'chat-100', 'chat-max', 'bridge-tcp-web', 'bridge-web-tcp', 'write']
      .every((s) => HUBS.slice(0, 2).every((h) => !get(s, h) || get(s, h).all_delivered === true))],
];
console.log('');
for (const [what, needs, met] of checks) {
  const missing = needs.some(([label, hub]) => !get(label, hub));
  console.log(`- ${missing ? 'not run' : met ? 'met' : 'NOT met'}: ${what}`);
}

// ---- Before / after: the gateway of BENCH_BEFORE and the one built here ----
// Printed when hub gateway-before ran: its figures and hub gateway's, from
// the same run, scenario by scenario (gateway-before first, then gateway).
if (Object.values(runs).some((r) => r.hub === 'gateway-before')) {
  const b = meta.before || {};
  const a = meta.after || {};
  const short = (c) => (typeof c === 'string' && c ? c.slice(0, 12) : '?');
  const beforeName = b.commit ? `${b.rev} = ${short(b.commit)} (${b.date})`
    : b.bin ? `${b.bin}${b.version ? ` (${b.version})` : ''}` : 'gateway-before';
  const afterName = a.commit ? `${short(a.commit)} (${a.date})${a.changes ? ' with uncommitted changes' : ''}`
    : 'this tree';
  console.log('');
  console.log(`Before / after${a.run ? `, run ${a.run}` : ''}: the gateway with the SQLite store, ` +
    `the same flags${b.commit ? ', built the same way (Release)' : ''}, ` +
    'each scenario run against before, then after.');
  console.log(`- before: ${b.commit ? `${b.rev} = ${b.commit}, committed ${b.date}` : beforeName}`);
  console.log(`- after: ${a.commit ? `${a.commit}, committed ${a.date}` +
    `${a.changes ? ', with uncommitted changes' : ''}` : afterName}`);
  console.log('');
  const bhead = ['scenario', 'figure', `before: ${beforeName}`, `after: ${afterName}`, 'after / before'];
  const bout = [bhead, bhead.map(() => '---'),
    ...baRows.filter((r) => r.slice(2, 4).some((c) => c !== 'n/a'))];
  for (const r of bout) console.log(`| ${r.join(' | ')} |`);
  console.log('');
  console.log('after / before above 1.00x: more of the figure after (better where higher is better, ' +
    'worse for latencies, bytes and CPU); one run on a shared machine is noisy.');
  const delivered = (h) => Object.values(runs).filter((r) => r.hub === h && r.senders > 0)
    .every((r) => r.all_delivered === true);
  console.log('');
  for (const h of BA) {
    console.log(`- ${delivered(h) ? 'met' : 'NOT met'}: everything delivered in every scenario of ${h}`);
  }
}

// ---- The Redis store: one gateway on Redis, two gateways on one Redis ----
// Printed when a Redis hub ran. Ratios to the SQLite store of the same run.
const RHUBS = ['gateway', 'gateway-redis', 'gateway-redis2'];
if (Object.values(runs).some((r) => RHUBS.slice(1).includes(r.hub))) {
  const rrows = [];
  const rrow = (label, title, key, unit, better) => {
    const v = RHUBS.map((h) => { const r = get(label, h); return r ? r[key] : undefined; });
    const ok = (r) => (r && key === 'deliveries_per_s' && r.all_delivered === false ? ' (MISSING)' : '');
    rrows.push([label, `${title}${better ? ` (${better})` : ''}`,
      ...RHUBS.map((h, i) => `${fmt(v[i], unit)}${ok(get(label, h))}`),
      ratioOf(v[1], v[0]), ratioOf(v[2], v[0])]);
  };
  // Redis' own figures: its CPU and what the gateways asked of it.
  const redisRows = (label, there) => {
    rrow(label, `Redis CPU share (of one core, on the hub's core)${there}`, 'redis_cpu', '', '');
    rrow(label, `Redis CPU per message sent, µs${there}`, 'redis_us', 'ms', '');
    rrow(label, `gateways' CPU per message sent, µs${there}`, 'hub_us', 'ms', '');
    rrow(label, 'EVALSHA per message sent (target 1)', 'rt_evalsha', '3', '');
    rrow(label, 'Redis round trips per message sent, all kinds', 'rt_all', '3', '');
    rrow(label, 'stream reads per message (XRANGE, XREVRANGE: recovery, history; target 0)',
      'rt_reads', '3', '');
    rrow(label, 'other PUBLISHes per message (typing, presence, probes)', 'rt_publish', '3', '');
    rrow(label, 'checks every 5 s (epoch EVAL, HGET of each room) per message', 'rt_checks', '3', '');
    rrow(label, "Redis commands per message, its scripts' included", 'redis_cmds', '3', '');
    rrow(label, 'bytes into / out of Redis per message', 'redis_io', '', '');
    rrow(label, 'share of the deliveries made by the other gateway', 'cross_share', 'ms', '');
  };
  for (const r of Object.values(runs)) {
    if (typeof r.redis_in_b === 'number') r.redis_io = `${Math.round(r.redis_in_b)} / ${Math.round(r.redis_out_b)}`;
  }
  rrow('idle-1k', 'bytes per connection (all gateways)', 'bytes_per_conn', 'B', 'lower is better');
  rrow('idle-10k', 'bytes per connection (all gateways)', 'bytes_per_conn', 'B', 'lower is better');
  rrow('idle-10k', 'connections ready', 'ready', '', '');
  rrow('setup-10k', 'set-ups per second', 'setup_per_s', '', 'higher is better');
  rrow('setup-10k', 'set-up failures', 'setup_failed', '', '');
  rrow('fanout', 'deliveries per second', 'deliveries_per_s', '', 'higher is better');
  rrow('fanout', 'latency p50 ms', 'p50_ms', 'ms', '');
  rrow('fanout', 'latency p99 ms', 'p99_ms', 'ms', 'lower is better');
  rrow('fanout', "hub CPU share (the gateways', of one core)", 'hub_cpu', '', '');
  rrow('fanout', 'generator CPU share (of one core)', 'gen_cpu', '', '');
  redisRows('fanout', '');
  rrow('chat-100', 'latency p50 ms', 'p50_ms', 'ms', '');
  rrow('chat-100', 'latency p99 ms', 'p99_ms', 'ms', 'lower is better');
  redisRows('chat-100', '');
  for (const s of ['chat-max', 'bridge-tcp-web', 'bridge-web-tcp', 'redis-max']) {
    rrow(s, 'highest rate, msg/s (p99 < 50 ms, all delivered)', 'rate', '', 'higher is better');
    rrow(s, 'deliveries per second there', 'deliveries_per_s', '', 'higher is better');
    rrow(s, 'latency p99 ms there', 'p99_ms', 'ms', '');
    rrow(s, "hub CPU share there (the gateways')", 'hub_cpu', '', '');
    rrow(s, 'generator CPU share there', 'gen_cpu', '', '');
    if (s === 'chat-max' || s === 'redis-max') redisRows(s, ' there');
    if (s === 'redis-max') {
      rrow(s, 'messages/s one Redis core would carry at that cost (1 s / Redis CPU per message)',
        'redis_core_msgs', '', '');
    }
  }
  rrow('write', 'events appended (Redis) or committed (SQLite) per second, from /metrics',
    'events_per_s', '', 'higher is better');
  rrow('write', 'latency p99 ms', 'p99_ms', 'ms', 'lower is better');
  rrow('write', "hub CPU share (the gateways')", 'hub_cpu', '', '');
  redisRows('write', '');

  const rhead = ['scenario', 'figure', 'gateway, SQLite', 'gateway, Redis', '2 gateways, 1 Redis',
    'Redis / SQLite', '2 on Redis / SQLite'];
  const rout = [rhead, rhead.map(() => '---'),
    ...rrows.filter((r) => r.slice(3, 5).some((c) => c !== 'n/a'))];
  console.log('');
  for (const r of rout) console.log(`| ${r.join(' | ')} |`);

  const near = (x, want) => typeof x === 'number' && Math.abs(x - want) < 0.005;
  const redisRuns = Object.values(runs).filter((r) => r.hub.startsWith('gateway-redis') &&
    typeof r.rt_evalsha === 'number');
  const rchecks = [
    ['Redis: one EVALSHA per chat message sent (chat-100, chat-max; one gateway and two)',
      [['chat-max', 'gateway-redis']],
      ['chat-100', 'chat-max'].every((s) => ['gateway-redis', 'gateway-redis2']
        .every((h) => !get(s, h) || near(get(s, h).rt_evalsha, 1)))],
    ['Redis: none per recipient (no stream reads in any Redis scenario, and one EVALSHA per message with 1,000 receivers, fanout)',
      [['fanout', 'gateway-redis']],
      redisRuns.every((r) => r.rt_reads === 0) &&
      ['gateway-redis', 'gateway-redis2'].every((h) => !get('fanout', h) || near(get('fanout', h).rt_evalsha, 1))],
    ['Redis: fan-out deliveries/s with one gateway on Redis >= 0.7x SQLite',
      [['fanout', 'gateway'], ['fanout', 'gateway-redis']],
      ratio('fanout', 'deliveries_per_s', 'gateway-redis', 'gateway') >= 0.7],
    ['Redis: chat-max deliveries/s with one gateway on Redis >= 0.7x SQLite',
      [['chat-max', 'gateway'], ['chat-max', 'gateway-redis']],
      ratio('chat-max', 'deliveries_per_s', 'gateway-redis', 'gateway') >= 0.7],
    ['Redis: everything delivered in every Redis scenario', [['fanout', 'gateway-redis']],
      Object.values(runs).filter((r) => r.hub.startsWith('gateway-redis') && r.senders > 0)
        .every((r) => r.all_delivered === true)],
  ];
  console.log('');
  for (const [what, needs, met] of rchecks) {
    const missing = needs.some(([label, hub]) => !get(label, hub));
    console.log(`- ${missing ? 'not run' : met ? 'met' : 'NOT met'}: ${what}`);
  }
}

// ---- Logins: passwords (Argon2id) checked off the event loop ----
// Printed when scenario login or a chat-under-*-flood ran: per hub that
// offers accounts, each step of login (answers per second, the latency of
// the request answered, the 421s), then chat-100's chat quiet and under
// each flood (wrong passwords to one account; a new nick nobody registered
// each try), with the ratios flood / quiet.
const LHUBS = ['gateway', 'gateway-memory', 'gateway-redis', 'gateway-before']
  .filter((h) => ['login', 'chat-quiet', 'chat-login-flood', 'login-flood', 'chat-quiet-names',
    'chat-names-flood', 'names-flood'].some((l) => get(l, h)));
if (LHUBS.length) {
  const names = {
    gateway: 'gateway, SQLite', 'gateway-memory': 'gateway, memory', 'gateway-redis': 'gateway, Redis',
    'gateway-before': 'gateway before (SQLite)',
  };
  const lrows = [];
  const lrow = (label, title, f) => {
    const cells = LHUBS.map((h) => { const r = get(label, h); return r ? f(r) : 'n/a'; });
    if (cells.some((c) => c !== 'n/a')) lrows.push([label, title, ...cells]);
  };
  const num = (v, unit) => fmt(typeof v === 'number' ? v : undefined, unit);
  const steps = [['register', 'register'], ['login', 'log in, right password'],
    ['wrong', 'log in, wrong password'], ['nobody', 'log in, a nick nobody registered']];
  for (const [s, what] of steps) {
    lrow('login', `${what}: answered per second`, (r) => num(r[`${s}_per_s`], ''));
    lrow('login', `${what}: p50 / p99 ms (request answered to answer)`,
      (r) => `${num(r[`${s}_p50_ms`], 'ms')} / ${num(r[`${s}_p99_ms`], 'ms')}`);
    lrow('login', `${what}: p99 ms from the first try`, (r) => num(r[`${s}_wait_p99_ms`], 'ms'));
    lrow('login', `${what}: answers 421 (busy; sent again)`, (r) => num(r[`${s}_busy`], ''));
  }
  for (const [s, what] of [['wrong1', 'wrong password'], ['nobody1', 'a nick nobody registered']]) {
    lrow('login', `one at a time (32 logins, nothing queued), ${what}: p50 / p99 ms`,
      (r) => `${num(r[`${s}_p50_ms`], 'ms')} / ${num(r[`${s}_p99_ms`], 'ms')}`);
  }
  lrow('login', 'one at a time: p50, nick nobody registered / wrong password (1.00x: the same)',
    (r) => ratioOf(r.nobody1_p50_ms, r.wrong1_p50_ms));
  lrow('login', 'time per answer, wrong / right password (1.00x: the same)',
    (r) => ratioOf(r.login_per_s, r.wrong_per_s));
  lrow('login', 'time per answer, nick nobody registered / right password',
    (r) => ratioOf(r.login_per_s, r.nobody_per_s));
  lrow('login', 'every browser answered as expected in every step',
    (r) => (r.all_answered ? 'yes' : 'NO'));
  lrow('login', "hub CPU share, the event loop's (of one core)",
    (r) => `${num(r.hub_cpu, '')}, ${num(r.hub_loop_cpu, '')}`);
  // The two floods: wrong passwords to one account (chat-under-login-flood)
  // and a new nick nobody registered each try, connecting again past the
  // bound per connection (chat-under-names-flood).
  const FLOODS = [
    { quiet: 'chat-quiet', flood: 'chat-login-flood', gen: 'login-flood',
      what: 'under the login flood', kind: 'wrong passwords to one account' },
    { quiet: 'chat-quiet-names', flood: 'chat-names-flood', gen: 'names-flood',
      what: 'under the names flood', kind: 'a new nick nobody registered each try' },
  ];
  for (const F of FLOODS) {
    for (const [label, what] of [[F.quiet, `quiet (${F.gen})`], [F.flood, F.what]]) {
      lrow(label, `chat ${what}: latency p50 / p99 ms`,
        (r) => `${num(r.p50_ms, 'ms')} / ${num(r.p99_ms, 'ms')}`);
      lrow(label, `chat ${what}: latency max ms`, (r) => num(r.max_ms, 'ms'));
      lrow(label, `chat ${what}: deliveries per second`,
        (r) => `${num(r.deliveries_per_s, '')}${r.all_delivered === false ? ' (MISSING)' : ''}`);
      lrow(label, `chat ${what}: hub CPU share, the event loop's`,
        (r) => `${num(r.hub_cpu, '')}, ${num(r.hub_loop_cpu, '')}`);
      lrow(label, `chat ${what}: share of the time the event loop waited for a core`,
        (r) => num(r.hub_loop_wait, '3'));
    }
    if (!LHUBS.some((h) => get(F.flood, h))) continue;
    const flood = (h, key) => (get(F.flood, h) || {})[key];
    const quiet = (h, key) => (get(F.quiet, h) || {})[key];
    lrows.push([F.flood, 'chat latency p50, flood / quiet',
      ...LHUBS.map((h) => ratioOf(flood(h, 'p50_ms'), quiet(h, 'p50_ms')))]);
    lrows.push([F.flood, 'chat latency p99, flood / quiet (lower is better)',
      ...LHUBS.map((h) => ratioOf(flood(h, 'p99_ms'), quiet(h, 'p99_ms')))]);
    const g = F.gen;
    // Per second of the whole flood (run_s: from its start to its end,
    // SIGTERM), not of its answers alone.
    const perS = (r, k) => num(r.run_s > 0 ? r[k] / r.run_s : undefined, '');
    lrow(g, `the flood (${F.kind}): wrong logins answered 530 (a hash each): in all; per second`,
      (r) => `${num(r.flood_ok, '')}; ${perS(r, 'flood_ok')}`);
    lrow(g, 'the flood: answers 429 (held back, no hash): in all; per second',
      (r) => `${num(r.flood_slow, '')}; ${perS(r, 'flood_slow')}`);
    lrow(g, 'the flood: answers 421 (busy) per second', (r) => perS(r, 'flood_busy'));
    if (g === 'names-flood') {
      lrow(g, 'the flood: connections made again (10 tries each) per second',
        (r) => perS(r, 'flood_redials'));
    }
    lrow(g, 'the flood: p50 / p99 ms, login to its 530',
      (r) => `${num(r.flood_p50_ms, 'ms')} / ${num(r.flood_p99_ms, 'ms')}`);
    lrow(g, 'the flood: browsers; seconds',
      (r) => `${num(r.flood, '')}; ${num(r.run_s, 'ms')}`);
    lrow(g, "hub CPU share over the flood, the event loop's",
      (r) => `${num(r.hub_cpu, '')}, ${num(r.hub_loop_cpu, '')}`);
    lrow(g, 'share of the flood the event loop waited for a core',
      (r) => num(r.hub_loop_wait, '3'));
  }

  const lhead = ['scenario', 'figure', ...LHUBS.map((h) => names[h])];
  console.log('');
  for (const r of [lhead, lhead.map(() => '---'), ...lrows]) console.log(`| ${r.join(' | ')} |`);
  // The claim: hashing is off the loop, so a flood of wrong passwords
  // leaves the chat's latency within a small factor of the quiet chat's.
  console.log('');
  for (const F of FLOODS) {
    for (const h of LHUBS) {
      if (!get(F.flood, h) || !get(F.quiet, h)) continue;
      const r = get(F.flood, h).p99_ms / get(F.quiet, h).p99_ms;
      const answered = (get(F.gen, h) || {}).flood_ok > 0;
      console.log(`- ${r <= 3 && answered ? 'met' : 'NOT met'}: ${names[h]}: chat p99 under the ` +
        `${F.gen} (${F.kind}) at most 3x quiet (${Number.isFinite(r) ? r.toFixed(2) : 'n/a'}x)` +
        `${answered ? '' : '; the flood got no answer'}`);
    }
  }
}
