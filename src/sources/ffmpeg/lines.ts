/**
 * Cuts a text stream (ffmpeg's stderr) into lines across chunk boundaries. A partial line longer
 * than `maxPartial` keeps only its end: such a line is not one we parse, and memory stays bounded.
 */
export class LineSplitter {
  private partial = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxPartial = 4096,
  ) {}

  write(chunk: string): void {
    const lines = (this.partial + chunk).split(/\r?\n|\r/);
    this.partial = (lines.pop() ?? '').slice(-this.maxPartial);
    for (const line of lines) if (line.length > 0) this.onLine(line);
  }

  /** Hands over the unterminated last line, if any (the stream has ended). */
  end(): void {
    const rest = this.partial;
    this.partial = '';
    if (rest.length > 0) this.onLine(rest);
  }
}
