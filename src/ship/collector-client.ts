/**
 * The collector's wire protocol v1 from the shipper's side (spec §20.2, §18): one keep-alive
 * connection pool (undici), bounded timeouts, bounded response bodies.
 */
import { Agent, request } from 'undici';

interface SourceHead {
  next: number;
  head: { seq: number; hash: string } | null;
}

export interface IngestReply {
  status: number;
  /** Parsed JSON body, when it was JSON. */
  body: {
    accepted?: number;
    duplicates?: number;
    next?: number;
    head?: { seq: number; hash: string } | null;
    code?: string;
    message?: string;
    seq?: number;
    reason?: string;
  };
  retryAfter: string | undefined;
}

export interface ClientOptions {
  url: string;
  source: string;
  /** PEM of the CA that signed the collector's certificate (in addition to the system's). */
  ca?: string | Buffer;
  /** Connect, headers and body timeouts (default 30 s). */
  timeoutMs?: number;
}

export interface WitnessReply {
  status: number;
  text: string;
  contentType: string;
  retryAfter: string | undefined;
}

const MAX_REPLY_BYTES = 64 * 1024;

/** The body, read to its end (the connection stays reusable) but kept only up to the cap. */
async function readCapped(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size <= MAX_REPLY_BYTES) chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export class CollectorClient {
  private readonly agent: Agent;
  private readonly base: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: 1,
      connect: { timeout: this.timeoutMs, ...(options.ca ? { ca: options.ca } : {}) },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
  }

  private sourceUrl(suffix = ''): string {
    return `${this.base}/v1/sources/${encodeURIComponent(this.options.source)}${suffix}`;
  }

  /** GET /v1/sources/{source}: where the collector wants us to start. */
  head(token: string, signal?: AbortSignal): Promise<IngestReply> {
    return this.call('GET', this.sourceUrl(), token, undefined, signal);
  }

  /** POST /v1/sources/{source}/events with the lines as the ledger wrote them. */
  send(token: string, lines: Buffer, signal?: AbortSignal): Promise<IngestReply> {
    return this.call('POST', this.sourceUrl('/events'), token, lines, signal);
  }

  /**
   * POST /add-checkpoint (C2SP tlog-witness, spec §19.2): the text body as the witness takes it;
   * the reply is text (cosignature lines, or the known size on 409).
   */
  async addCheckpoint(body: Buffer, signal?: AbortSignal): Promise<WitnessReply> {
    const res = await request(`${this.base}/add-checkpoint`, {
      method: 'POST',
      dispatcher: this.agent,
      headers: { 'content-type': 'text/plain; charset=utf-8', accept: 'text/plain, text/x.tlog.size' },
      body,
      signal,
    });
    const text = (await readCapped(res.body as AsyncIterable<Buffer>)).toString('utf8');
    const ra = res.headers['retry-after'];
    const ct = res.headers['content-type'];
    return { status: res.statusCode, text, contentType: (Array.isArray(ct) ? ct[0] : ct) ?? '', retryAfter: Array.isArray(ra) ? ra[0] : ra };
  }

  private async call(method: 'GET' | 'POST', url: string, token: string, body: Buffer | undefined, signal?: AbortSignal): Promise<IngestReply> {
    const res = await request(url, {
      method,
      dispatcher: this.agent,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body ? { 'content-type': 'application/x-ndjson' } : {}),
      },
      body,
      signal,
    });
    const text = (await readCapped(res.body as AsyncIterable<Buffer>)).toString('utf8');
    let parsed: IngestReply['body'] = {};
    try {
      const v: unknown = JSON.parse(text);
      if (v && typeof v === 'object' && !Array.isArray(v)) parsed = v as IngestReply['body'];
    } catch {
      // Not JSON (a proxy's error page): the status alone decides (spec §20.4).
    }
    const ra = res.headers['retry-after'];
    return { status: res.statusCode, body: parsed, retryAfter: Array.isArray(ra) ? ra[0] : ra };
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }
}
