/**
 * At-least-once for the Kafka frames topic: a partition's offset is committed only past frames no
 * window still needs. kafkajs' auto-commit would commit a frame as soon as it was consumed, so a
 * crash lost the windows of every frame then in the pipeline (issue 15).
 *
 * A frame is needed until a window of its camera that starts after it has been delivered: windows
 * of one camera are delivered in order, so every window holding an earlier frame came before.
 * Messages that are not frames (dead-lettered) are done at once. A camera that stops sending holds
 * back its partition's commits at its last frames, which are then read again after a restart (they
 * may complete a window with the frames that follow): duplicates, never a lost window.
 */
import type { Consumer } from 'kafkajs';
import type { Logger } from 'pino';

interface Entry {
  readonly partition: number;
  readonly offset: number;
}

interface FrameRef {
  readonly captureTs: number;
  readonly entry: Entry;
}

interface PartitionTrack {
  /**
   * Frames still needed, and only those: memory stays bounded by the frames in flight even when a
   * camera stops for good and holds its partition's commit back.
   */
  readonly pending: Set<Entry>;
  /** The offset last committed (or undefined). */
  committed?: number;
  /** The offset after the last message seen. */
  next: number;
}

export interface OffsetCommit {
  readonly partition: number;
  /** The next offset to read, as kafkajs wants it. */
  readonly offset: string;
}

export class FrameOffsets {
  private readonly partitions = new Map<number, PartitionTrack>();
  private readonly cameras = new Map<string, FrameRef[]>();

  /** A message was consumed; `frame` when it carried a camera's frame (it waits for its windows). */
  consumed(partition: number, offset: string, frame?: { camera: string; captureTs: number }): void {
    const track = this.partitions.get(partition) ?? { pending: new Set<Entry>(), next: 0 };
    this.partitions.set(partition, track);
    const entry: Entry = { partition, offset: Number(offset) };
    // A rejoin re-reads from the last commit: `next` never moves back.
    track.next = Math.max(track.next, entry.offset + 1);
    if (frame === undefined) return;
    track.pending.add(entry);
    const refs = this.cameras.get(frame.camera) ?? [];
    this.cameras.set(frame.camera, refs);
    refs.push({ captureTs: frame.captureTs, entry });
  }

  /** A window of `camera` starting at `windowStart` was delivered: earlier frames are needed no more. */
  delivered(camera: string, windowStart: number): void {
    const refs = this.cameras.get(camera);
    if (refs === undefined) return;
    let n = 0;
    for (; n < refs.length && refs[n]!.captureTs < windowStart; n++) this.partitions.get(refs[n]!.entry.partition)?.pending.delete(refs[n]!.entry);
    refs.splice(0, n);
  }

  /** Per partition, the offset to commit when it moved since the last call: the oldest frame still needed. */
  commits(): OffsetCommit[] {
    const out: OffsetCommit[] = [];
    for (const [partition, track] of this.partitions) {
      let offset = track.next;
      for (const e of track.pending) if (e.offset < offset) offset = e.offset;
      if (offset === track.committed) continue;
      track.committed = offset;
      out.push({ partition, offset: String(offset) });
    }
    return out;
  }

  /** A commit failed: offer these offsets again at the next call. */
  retryCommits(failed: readonly OffsetCommit[]): void {
    for (const c of failed) {
      const track = this.partitions.get(c.partition);
      if (track !== undefined && track.committed === Number(c.offset)) track.committed = undefined;
    }
  }

  /** Partitions this worker no longer owns (a rebalance): another worker reads them from their commits. */
  forget(keep: (partition: number) => boolean): void {
    for (const p of [...this.partitions.keys()]) if (!keep(p)) this.partitions.delete(p);
    for (const [camera, refs] of this.cameras) {
      const left = refs.filter((r) => this.partitions.has(r.entry.partition));
      if (left.length === 0) this.cameras.delete(camera);
      else this.cameras.set(camera, left);
    }
  }

  /** Frames consumed and still needed. */
  get pending(): number {
    let n = 0;
    for (const t of this.partitions.values()) n += t.pending.size;
    return n;
  }
}

export interface CommitterOptions {
  readonly offsets: FrameOffsets;
  readonly topic: string;
  /** The consumer now running (a supervised consumer may be replaced). */
  readonly consumer: () => Consumer | undefined;
  /** Default 1000. */
  readonly intervalMs?: number;
  readonly logger?: Logger;
}

/** Commits what `offsets` allows every `intervalMs`; `stop()` commits a last time. A failed commit is tried again. */
export function startCommitter(o: CommitterOptions): { stop(): Promise<void> } {
  const commit = async (): Promise<void> => {
    const consumer = o.consumer();
    const list = consumer === undefined ? [] : o.offsets.commits();
    if (list.length === 0) return;
    try {
      await consumer!.commitOffsets(list.map((c) => ({ topic: o.topic, ...c })));
    } catch (err) {
      o.offsets.retryCommits(list);
      o.logger?.warn({ err }, 'could not commit frame offsets; trying again');
    }
  };
  const timer = setInterval(() => void commit(), o.intervalMs ?? 1000);
  return {
    stop: () => {
      clearInterval(timer);
      return commit();
    },
  };
}
