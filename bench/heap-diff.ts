/**
 * `tsx bench/heap-diff.ts A.heapsnapshot B.heapsnapshot [top]`: what grew between two V8 heap
 * snapshots (e.g. taken with `node --heapsnapshot-signal=SIGUSR2` during a soak), as object count
 * and self size per constructor (strings, arrays and closures by their node type), largest growth
 * first. Self sizes, not retained ones: enough to name what accumulates, cheap to compute.
 */
import { readFileSync } from 'node:fs';

interface Tally {
  count: number;
  bytes: number;
}

function tally(file: string): Map<string, Tally> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const out = new Map<string, Tally>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const t = types[snap.nodes[i + type]!]!;
    // Objects by constructor; every string, code or array kind lumped by its node type.
    const key = t === 'object' || t === 'native' ? snap.strings[snap.nodes[i + name]!]! : `(${t})`;
    const row = out.get(key) ?? { count: 0, bytes: 0 };
    row.count++;
    row.bytes += snap.nodes[i + size]!;
    out.set(key, row);
  }
  return out;
}

const [a, b, top = '25'] = process.argv.slice(2);
if (a === undefined || b === undefined) throw new Error('usage: heap-diff A.heapsnapshot B.heapsnapshot [top]');
const before = tally(a);
const after = tally(b);
const rows = [...after].map(([key, t]) => {
  const old = before.get(key) ?? { count: 0, bytes: 0 };
  return { constructor: key.slice(0, 60), count: t.count, 'Δcount': t.count - old.count, 'ΔKiB': Math.round((t.bytes - old.bytes) / 1024) };
});
rows.sort((x, y) => y['ΔKiB'] - x['ΔKiB']);
console.table(rows.slice(0, Number(top)));
const total = (m: Map<string, Tally>): number => [...m.values()].reduce((s, t) => s + t.bytes, 0);
console.log(`self size: ${(total(before) / 2 ** 20).toFixed(1)} MiB -> ${(total(after) / 2 ** 20).toFixed(1)} MiB`);
