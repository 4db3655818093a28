/**
 * Where the CLI writes (spec §15.2). stdout carries what a command exists to print (events,
 * reports, JSON); stderr carries errors and progress. Writes respect backpressure, so streaming
 * a large ledger into a slow pipe holds one chunk in memory, not the whole ledger.
 */
import type { Writable } from 'node:stream';

export class Output {
  /** Set when the reader of stdout went away (EPIPE, e.g. `| head`): stop producing. */
  closed = false;
  /** A write error other than a closed pipe (disk full on a redirect): reported by run(). */
  failure: Error | undefined;

  constructor(
    /** --quiet: no human reports and no progress bars. Data and --json output are still written. */
    public quiet: boolean,
    private readonly stream: Writable = process.stdout,
  ) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      this.closed = true;
      // A closed pipe is the reader's decision, not our failure.
      if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') this.failure ??= e;
    });
  }

  /** Writes data; resolves once the stream can take more. Returns false when the reader is gone. */
  async write(text: string): Promise<boolean> {
    if (this.closed) return false;
    if (this.stream.write(text)) return true;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        this.stream.off('error', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
      this.stream.on('error', done);
    });
    return !this.closed;
  }

  /** A human report line; dropped under --quiet. */
  async say(text = ''): Promise<void> {
    if (!this.quiet) await this.write(text + '\n');
  }

  /** Machine output: one JSON document, indented for people reading it too. */
  async json(value: unknown): Promise<void> {
    await this.write(JSON.stringify(value, null, 2) + '\n');
  }
}

/** Collects lines into chunks of about `size` bytes so a million events are not a million writes. */
export class ChunkedWriter {
  private buffer: string[] = [];
  private bytes = 0;

  constructor(
    private readonly out: Output,
    private readonly size = 64 * 1024,
  ) {}

  /** Returns false when the reader went away. */
  async line(text: string): Promise<boolean> {
    this.buffer.push(text, '\n');
    this.bytes += text.length + 1;
    return this.bytes >= this.size ? this.flush() : !this.out.closed;
  }

  async flush(): Promise<boolean> {
    if (this.buffer.length === 0) return !this.out.closed;
    const text = this.buffer.join('');
    this.buffer = [];
    this.bytes = 0;
    return this.out.write(text);
  }
}
