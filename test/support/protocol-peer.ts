/**
 * A loopback HTTP peer that speaks the collector wire protocol v1 (PROTOCOL.md, spec §18) for
 * the shipper's state-machine tests: it stores lines per seq in memory, answers duplicates,
 * SEQ_GAP and FORK as the protocol says, enforces the batch limits, and lets a test script any
 * answer. It stands in for the network peer, not for our own code: it checks no seal or
 * signature (the real collector's tests do), only what the shipper's behaviour depends on.
 */
import http from 'node:http';
import net from 'node:net';

export interface Scripted {
  status: number;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
}

export type Script = (req: { method: string; path: string; lines: string[]; firstSeq: number | undefined }) => Scripted | undefined;

export class ProtocolPeer {
  /** Stored lines by seq (without "\n"). */
  readonly lines: string[] = [];
  readonly requests: { method: string; path: string; firstSeq?: number; count: number; status: number }[] = [];
  token = 'tok-' + Math.random().toString(36).slice(2);
  maxLines = 1000;
  maxBytes = 5 * 1024 * 1024;
  /** One-shot answers, consumed in order when they return a reply. */
  readonly once: Script[] = [];
  /** A standing rule, consulted on every request before the protocol. */
  rule: Script | undefined;
  duplicates = 0;
  forks: { seq: number; stored: string; offered: string }[] = [];

  private constructor(
    private server: http.Server,
    readonly port: number,
    readonly source: string,
  ) {}

  static async start(source = 'host-a', port = 0): Promise<ProtocolPeer> {
    let peer!: ProtocolPeer;
    const server = http.createServer((req, res) => void peer.handle(req, res));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    peer = new ProtocolPeer(server, (server.address() as net.AddressInfo).port, source);
    return peer;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get next(): number {
    return this.lines.length;
  }

  private reply(res: http.ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
    const head = this.lines.length ? { seq: this.lines.length - 1, hash: 'h' + (this.lines.length - 1) } : null;
    const full = { accepted: 0, duplicates: 0, next: this.next, head, ...body };
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(full));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const path = req.url ?? '';
    const method = req.method ?? 'GET';
    const text = body.toString('utf8');
    const lines = text.length ? text.split('\n').slice(0, -1) : [];
    const firstSeq = lines.length ? seqOf(lines[0]!) : undefined;
    const record = (status: number) => this.requests.push({ method, path, firstSeq, count: lines.length, status });
    const script = { method, path, lines, firstSeq };
    let scripted = this.rule?.(script);
    if (!scripted && this.once.length) {
      scripted = this.once[0]!(script);
      if (scripted) this.once.shift();
    }
    if (scripted) {
      record(scripted.status);
      return this.reply(res, scripted.status, scripted.body ?? {}, scripted.headers);
    }
    const base = `/v1/sources/${this.source}`;
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      record(401);
      return this.reply(res, 401, { code: 'UNAUTHORIZED', message: 'bad token' });
    }
    if (method === 'GET' && path === base) {
      record(200);
      return this.reply(res, 200, { source: this.source, lastEventAt: null, cosigned: null, forks: this.forks.length });
    }
    if (method !== 'POST' || path !== `${base}/events`) {
      record(404);
      return this.reply(res, 404, { code: 'UNKNOWN_SOURCE', message: path });
    }
    if (req.headers['content-type'] !== 'application/x-ndjson') {
      record(415);
      return this.reply(res, 415, { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'want application/x-ndjson' });
    }
    if (lines.length > this.maxLines || body.length > this.maxBytes || !text.endsWith('\n')) {
      record(413);
      return this.reply(res, 413, { code: 'PAYLOAD_TOO_LARGE', message: 'too large' });
    }
    if (firstSeq !== undefined && firstSeq > this.next) {
      record(409);
      return this.reply(res, 409, { code: 'SEQ_GAP', message: `expected ${this.next}` });
    }
    let accepted = 0;
    let duplicates = 0;
    for (const line of lines) {
      const seq = seqOf(line);
      if (seq < this.lines.length) {
        if (this.lines[seq] === line) {
          duplicates++;
          this.duplicates++;
          continue;
        }
        this.forks.push({ seq, stored: this.lines[seq]!, offered: line });
        record(409);
        return this.reply(res, 409, { code: 'FORK', seq, accepted, duplicates, message: `different event at seq ${seq}` });
      }
      if (seq !== this.lines.length) {
        record(409);
        return this.reply(res, 409, { code: 'SEQ_GAP', accepted, duplicates, message: `expected ${this.next}` });
      }
      this.lines.push(line);
      accepted++;
    }
    record(200);
    return this.reply(res, 200, { accepted, duplicates });
  }

  /** Down for `downMs` (connections refused), then up again on the same port with the same store. */
  async restart(downMs: number): Promise<void> {
    await this.close();
    await new Promise((r) => setTimeout(r, downMs));
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.port, '127.0.0.1', () => resolve());
        });
        break;
      } catch (e) {
        if (attempt > 50) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    this.server = server;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function seqOf(line: string): number {
  return (JSON.parse(line) as { seq: number }).seq;
}
