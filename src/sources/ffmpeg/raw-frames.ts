/**
 * Cuts ffmpeg's `-f rawvideo` output into whole frames. Pipe chunks do not line up with frames,
 * so bytes are copied into a frame until it is full. Each frame is a fresh, unpooled buffer that
 * the consumer may keep.
 */
export class RawFrameCutter {
  private frame: Uint8Array | undefined;
  private filled = 0;

  constructor(readonly frameBytes: number) {
    if (!(Number.isInteger(frameBytes) && frameBytes > 0)) throw new RangeError(`frame size must be a positive integer, got ${frameBytes}`);
  }

  /** The frames this chunk completed, in order (often none, sometimes several). */
  push(chunk: Uint8Array): Uint8Array[] {
    const done: Uint8Array[] = [];
    let off = 0;
    while (off < chunk.length) {
      // allocUnsafeSlow: not a slice of Node's shared pool, so `frame.buffer` is the frame's own.
      const frame = (this.frame ??= new Uint8Array(Buffer.allocUnsafeSlow(this.frameBytes).buffer, 0, this.frameBytes));
      const n = Math.min(this.frameBytes - this.filled, chunk.length - off);
      frame.set(chunk.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      if (this.filled === this.frameBytes) {
        done.push(frame);
        this.frame = undefined;
        this.filled = 0;
      }
    }
    return done;
  }

  /** Bytes of an incomplete frame held back (non-zero when a stream ends mid-frame). */
  get pendingBytes(): number {
    return this.filled;
  }
}
