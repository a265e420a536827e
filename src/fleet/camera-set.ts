/**
 * The cameras one ingest process should watch, from the cameras topic and its partition assignment.
 * No offsets are ever committed on that topic: every assignment re-reads each assigned partition
 * from its beginning up to the end it had when the assignment came. Until that re-read is done a
 * kept partition keeps its previous cameras (a rebalance does not close and reopen them), and a
 * gained partition contributes none; only then does the new state replace the old, so a camera is
 * opened with its latest configuration, not once per historical record.
 */
import type { CameraConfig } from '../../config/schema.js';

export type CameraChange =
  | { readonly kind: 'open'; readonly camera: CameraConfig }
  | { readonly kind: 'replace'; readonly camera: CameraConfig }
  /** `removed`: its latest record is a tombstone; `unassigned`: its partition went to another process. */
  | { readonly kind: 'close'; readonly id: string; readonly reason: 'removed' | 'unassigned' };

interface PartitionState {
  /** What counts now. */
  live: Map<string, CameraConfig>;
  /** The re-read in progress since the last assignment; undefined once caught up. */
  loading?: Map<string, CameraConfig>;
  /** The partition's end offset when it was assigned (undefined until known). */
  end?: bigint;
  /** Highest offset read (or skipped by kafkajs) since the assignment, -1 for none. */
  seen: bigint;
}

/** A configuration as a comparable string: key order does not make a change. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{${entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

export class AssignedCameras {
  private readonly partitions = new Map<number, PartitionState>();
  private readonly applied = new Map<string, { camera: CameraConfig; partition: number }>();

  constructor(private readonly onChange: (change: CameraChange) => void) {}

  /** The cameras opened now (what the changes so far add up to). */
  cameras(): CameraConfig[] {
    return [...this.applied.values()].map((a) => a.camera);
  }

  /** Every partition is read to its end since the last assignment. */
  get settled(): boolean {
    return [...this.partitions.values()].every((p) => p.loading === undefined);
  }

  /** A new assignment: lost partitions' cameras close at once; the others are read again from the beginning. */
  assign(partitions: readonly number[]): void {
    const keep = new Set(partitions);
    for (const p of [...this.partitions.keys()]) if (!keep.has(p)) this.partitions.delete(p);
    for (const p of keep) {
      const prev = this.partitions.get(p);
      this.partitions.set(p, { live: prev?.live ?? new Map(), loading: new Map(), seen: -1n });
    }
    this.reconcile();
  }

  /** Where partition `p` ended at assignment (`low` = `high`: empty, nothing to read). */
  endOffsets(p: number, low: bigint, high: bigint): void {
    const s = this.partitions.get(p);
    if (s === undefined || s.loading === undefined) return;
    s.end = high;
    if (high <= low) s.seen = high - 1n;
    this.checkCaughtUp(p, s);
  }

  /** A record of partition `p`; `camera` null is a tombstone (removed). */
  record(p: number, offset: bigint, id: string, camera: CameraConfig | null): void {
    const s = this.partitions.get(p);
    if (s === undefined) return; // a record of a partition no longer ours
    const target = s.loading ?? s.live;
    if (camera === null) target.delete(id);
    else target.set(id, camera);
    if (s.loading === undefined) this.reconcile();
    else this.progress(p, offset);
  }

  /** kafkajs read up to `offset` in partition `p` (also past records it filtered out). */
  progress(p: number, offset: bigint): void {
    const s = this.partitions.get(p);
    if (s === undefined || s.loading === undefined) return;
    if (offset > s.seen) s.seen = offset;
    this.checkCaughtUp(p, s);
  }

  private checkCaughtUp(p: number, s: PartitionState): void {
    if (s.loading === undefined || s.end === undefined || s.seen < s.end - 1n) return;
    s.live = s.loading;
    s.loading = undefined;
    this.reconcile();
  }

  private reconcile(): void {
    const desired = new Map<string, { camera: CameraConfig; partition: number }>();
    for (const [partition, s] of this.partitions) for (const [id, camera] of s.live) desired.set(id, { camera, partition });
    for (const [id, { partition }] of [...this.applied]) {
      if (desired.has(id)) continue;
      this.applied.delete(id);
      this.onChange({ kind: 'close', id, reason: this.partitions.has(partition) ? 'removed' : 'unassigned' });
    }
    for (const [id, want] of desired) {
      const before = this.applied.get(id)?.camera;
      this.applied.set(id, want);
      if (before !== undefined && canonical(before) === canonical(want.camera)) continue;
      this.onChange(before === undefined ? { kind: 'open', camera: want.camera } : { kind: 'replace', camera: want.camera });
    }
  }
}
