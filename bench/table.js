'use strict';
// table.js RESULTS.jsonl: the benchmark table, each figure of the gateway
// next to the Node.js baseline's from the same run, with the ratio, and the
// issue's targets checked. Prints Markdown.
const fs = require('fs');

const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
const runs = {};
for (const l of lines) {
  let r;
  try { r = JSON.parse(l); } catch (e) { continue; }
  if (!r.label || r.label.endsWith('-probe')) continue;
  runs[`${r.label}/${r.hub}`] = r;
}

const get = (label, hub) => runs[`${label}/${hub}`];
const fmt = (v, unit) => {
  if (v === undefined || v === null || Number.isNaN(v)) return 'n/a';
  if (unit === 'ms') return v.toFixed(2);
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return String(Math.round(v * 100) / 100);
};

const rows = [];
function row(label, title, key, unit, better) {
  const g = get(label, 'gateway');
  const n = get(label, 'node');
  const gv = g ? g[key] : undefined;
  const nv = n ? n[key] : undefined;
  let ratio = 'n/a';
  if (typeof gv === 'number' && typeof nv === 'number' && nv !== 0 && gv >= 0 && nv > 0) {
    ratio = `${(gv / nv).toFixed(2)}x`;
  }
  const ok = (r) => (r ? (r.all_delivered === false ? ' (MISSING)' : '') : '');
  rows.push([label, `${title}${better ? ` (${better})` : ''}`,
    `${fmt(gv, unit)}${key === 'deliveries_per_s' ? ok(g) : ''}`,
    `${fmt(nv, unit)}${key === 'deliveries_per_s' ? ok(n) : ''}`, ratio]);
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
}

const head = ['scenario', 'figure', 'gateway', 'node ws', 'gateway / node'];
const out = [head, head.map(() => '---'), ...rows];
for (const r of out) console.log(`| ${r.join(' | ')} |`);

// The issue's targets.
const ratio = (label, key) => {
  const g = get(label, 'gateway');
  const n = get(label, 'node');
  return g && n && n[key] > 0 ? g[key] / n[key] : NaN;
};
const g = (label) => get(label, 'gateway') || {};
const n = (label) => get(label, 'node') || {};
const checks = [
  ['chat: highest sustainable deliveries/s >= 4x node', ratio('chat-max', 'deliveries_per_s') >= 4],
  ['fan-out: deliveries/s >= 4x node', ratio('fanout', 'deliveries_per_s') >= 4],
  ['fan-out: p99 below node', g('fanout').p99_ms < n('fanout').p99_ms],
  ['idle: <= 2 KiB per connection at 10,000',
    g('idle-10k').ready >= 10000 && g('idle-10k').bytes_per_conn >= 0 &&
    g('idle-10k').bytes_per_conn <= 2048],
  ['everything delivered in every gateway scenario',
    Object.values(runs).filter((r) => r.hub === 'gateway' && r.senders > 0)
      .every((r) => r.all_delivered === true) &&
    ['fanout', 'chat-100', 'chat-max', 'bridge-tcp-web', 'bridge-web-tcp']
      .every((s) => g(s).all_delivered === true)],
];
const ran = { chat: 'chat-max', 'fan-out': 'fanout', idle: 'idle-10k', everything: 'fanout' };
console.log('');
for (const [what, met] of checks) {
  const key = Object.keys(ran).find((k) => what.startsWith(`${k}:`) || what.startsWith(`${k} `));
  const missing = key && !(get(ran[key], 'gateway') && get(ran[key], 'node'));
  console.log(`- ${missing ? 'not run' : met ? 'met' : 'NOT met'}: ${what}`);
}
