/**
 * Server-sent events framing with backpressure (spec §18.10, ADR 0020). Writes go straight to
 * the response socket; the stream's reader waits on `ready()` before it reads more rows, so a
 * connection never holds more than `maxBufferBytes` plus one page. A client that does not drain
 * its socket within `stallMs`, or lets the buffer pass its bound, is told why in a comment and
 * cut off.
 */
import type { ServerResponse } from 'node:http';

export interface SseLimits {
  /** Bytes queued on one connection before it is cut off. Default 1 MiB. */
  maxBufferBytes: number;
  /** How long a full socket may stay undrained before the connection is cut off. Default 30 s. */
  stallMs: number;
}

export class SseWriter {
  #closed = false;
  #reason: string | undefined;
  readonly #onClose: (() => void)[] = [];

  constructor(private readonly res: ServerResponse, private readonly limits: SseLimits, retryMs: number) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies that buffer responses would hold events back.
      'x-accel-buffering': 'no',
    });
    res.socket?.setTimeout(0);
    res.socket?.setNoDelay(true);
    res.on('close', () => this.#markClosed());
    res.write(`retry: ${retryMs}\n\n`);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Why the server closed the stream, if it did. */
  get reason(): string | undefined {
    return this.#reason;
  }

  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#onClose.push(fn);
  }

  /** One event; `data` must be a single line (stored lines are). */
  event(id: number, data: string): void {
    this.#write(`id: ${id}\ndata: ${data}\n\n`);
  }

  comment(text: string): void {
    this.#write(`: ${text}\n\n`);
  }

  /** Resolves when more may be written; false when the connection is gone or was cut off. */
  async ready(): Promise<boolean> {
    if (this.#closed) return false;
    if (this.res.writableLength > this.limits.maxBufferBytes) {
      this.end(`closing: the client is not reading; more than ${this.limits.maxBufferBytes} bytes are queued`);
      return false;
    }
    if (!this.res.writableNeedDrain) return true;
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), this.limits.stallMs);
      const done = (v: boolean) => {
        clearTimeout(timer);
        this.res.off('drain', onDrain);
        this.res.off('close', onGone);
        resolve(v);
      };
      const onDrain = () => done(true);
      const onGone = () => done(false);
      this.res.on('drain', onDrain);
      this.res.on('close', onGone);
    });
    if (this.#closed) return false;
    if (!drained) {
      this.end(`closing: the client has not read for ${this.limits.stallMs} ms`);
      return false;
    }
    return true;
  }

  /** Closes with a final comment; a socket that does not take it within a second is destroyed. */
  end(reason: string): void {
    if (this.#closed) return;
    this.#reason = reason;
    this.res.end(`: ${reason}\n\n`);
    this.#markClosed();
    const t = setTimeout(() => this.res.destroy(), 1_000);
    t.unref();
    this.res.once('close', () => clearTimeout(t));
  }

  #write(chunk: string): void {
    if (!this.#closed) this.res.write(chunk);
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fn of this.#onClose.splice(0)) fn();
  }
}
