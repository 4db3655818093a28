/**
 * A minimal SSE reader over fetch for the stream tests: it records events and comments as they
 * arrive, and can stop reading (pause the body) to play a client that does not drain.
 */
export interface SseEvent {
  id: string;
  data: string;
}

export class SseReader {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  status = 0;
  ended: Promise<void>;
  readonly #abort = new AbortController();
  #waiters: (() => void)[] = [];

  constructor(url: string, headers: Record<string, string> = {}, o: { readFor?: number } = {}) {
    this.ended = this.#run(url, headers, o.readFor);
  }

  async #run(url: string, headers: Record<string, string>, readFor: number | undefined): Promise<void> {
    try {
      const res = await fetch(url, { headers, signal: this.#abort.signal });
      this.status = res.status;
      if (!res.body) return;
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      let cur: Partial<SseEvent> = {};
      let bytes = 0;
      for (;;) {
        // A client that stops reading: it never asks for more once it has `readFor` bytes.
        if (readFor !== undefined && bytes >= readFor) return await new Promise<void>((resolve) => this.#abort.signal.addEventListener('abort', () => resolve()));
        const { value, done } = await reader.read();
        if (done) return;
        bytes += value.length;
        buf += decoder.decode(value, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) !== -1) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === '') {
            if (cur.data !== undefined) this.events.push({ id: cur.id ?? '', data: cur.data });
            cur = {};
          } else if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
          else if (line.startsWith('id: ')) cur.id = line.slice(4);
          else if (line.startsWith('data: ')) cur.data = cur.data === undefined ? line.slice(6) : `${cur.data}\n${line.slice(6)}`;
          else if (line.startsWith('retry: ')) this.retry = Number(line.slice(7));
        }
        for (const w of this.#waiters.splice(0)) w();
      }
    } catch (e) {
      if (!this.#abort.signal.aborted) throw e;
    } finally {
      for (const w of this.#waiters.splice(0)) w();
    }
  }

  /** Resolves once `pred` holds, checked after every chunk; rejects after `ms`. */
  async until(pred: () => boolean, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`SSE reader: condition not met in ${ms} ms (${this.events.length} events, comments ${JSON.stringify(this.comments.slice(-3))})`);
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), new Promise((r) => setTimeout(r, 50))]);
    }
  }

  close(): void {
    this.#abort.abort();
  }
}
