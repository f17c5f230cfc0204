/**
 * Capped capture of a stage's output. A test that prints gigabytes must not
 * fill the disk nor the harness's memory: the log file keeps the first
 * `maxLogBytes`, memory keeps only the last `tailWindowBytes` (pytest's
 * summary sits at the end of its output), and everything else is counted.
 */
import fs from 'node:fs';

export class CappedOutput {
  private fd: number | null;
  private logged = 0;
  /** Bytes of this writer's output the cap kept out of the file. */
  private dropped = 0;
  private total = 0;
  private chunks: Buffer[] = [];
  private windowBytes = 0;

  constructor(
    logFile: string | null,
    private readonly maxLogBytes: number,
    private readonly tailWindowBytes: number,
  ) {
    // Appending (not truncating) lets the agent run a stage many times into one log.
    this.fd = logFile ? fs.openSync(logFile, 'a') : null;
    // The cap is for the file, not for this writer: a stage the agent runs
    // many times appends to one log that must stay under it too.
    this.logged = this.fd !== null ? fs.fstatSync(this.fd).size : 0;
  }

  write(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.fd !== null && this.logged < this.maxLogBytes) {
      const part = chunk.subarray(0, this.maxLogBytes - this.logged);
      fs.writeSync(this.fd, part);
      this.logged += part.length;
      this.dropped += chunk.length - part.length;
    } else if (this.fd !== null) {
      this.dropped += chunk.length;
    }
    this.chunks.push(chunk);
    this.windowBytes += chunk.length;
    while (this.windowBytes - this.chunks[0]!.length >= this.tailWindowBytes) {
      this.windowBytes -= this.chunks.shift()!.length;
    }
  }

  /** Bytes seen in all. */
  get bytes(): number {
    return this.total;
  }

  /** True when the log file did not take all of this writer's output. */
  get truncated(): boolean {
    return this.dropped > 0;
  }

  /** The last `tailWindowBytes` (or fewer) of the output, as bytes. */
  buffer(): Buffer {
    const buf = Buffer.concat(this.chunks);
    return buf.length > this.tailWindowBytes ? buf.subarray(buf.length - this.tailWindowBytes) : buf;
  }

  /** The last `tailWindowBytes` (or fewer) of the output, as text. */
  text(): string {
    return this.buffer().toString('utf8');
  }

  /** Close the log, noting how much was left out. Idempotent. */
  close(note?: string): void {
    if (this.fd === null) return;
    const lines: string[] = [];
    if (this.truncated) {
      lines.push(`[swe-harness: log capped at ${this.maxLogBytes} bytes; ${this.dropped} more bytes not stored]`);
    }
    if (note) lines.push(`[swe-harness: ${note}]`);
    if (lines.length) fs.writeSync(this.fd, `\n${lines.join('\n')}\n`);
    fs.closeSync(this.fd);
    this.fd = null;
  }
}
