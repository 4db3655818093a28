/**
 * A fault-injecting TCP proxy on loopback for the tests (shipping now, the change feed's SSE
 * later): real sockets, real resets, so that what breaks is what breaks on a network.
 *
 *   pass       forward both ways
 *   drop       close each new or active connection at once (no reply)
 *   delay      hold every chunk `ms` before forwarding (both ways, order kept)
 *   reset      forward the request; let `afterBytes` bytes of the reply through, then send a TCP
 *              RST to the client (a response cut mid-way) and close the upstream side
 *   blackhole  accept and read, never forward, never answer
 *
 * The mode is read per chunk, so a change reaches kept-alive connections too; `plan` picks a
 * mode per new connection instead (for scripted and random faults).
 */
import net from 'node:net';

export type FaultMode =
  | { kind: 'pass' }
  | { kind: 'drop' }
  | { kind: 'delay'; ms: number }
  | { kind: 'reset'; afterBytes: number; /** back to pass after one reset */ once?: boolean }
  | { kind: 'blackhole' };

export interface FaultProxyOptions {
  /** Mode for connection number n (0-based); overrides `mode` while it returns one. */
  plan?: (connection: number) => FaultMode | undefined;
}

export class FaultProxy {
  mode: FaultMode = { kind: 'pass' };
  /** Connections accepted, and how many connections each fault actually hit (at accept or later). */
  readonly stats = { connections: 0, drop: 0, delay: 0, reset: 0, blackhole: 0, pass: 0 };
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private target: { host: string; port: number },
    private readonly options: FaultProxyOptions,
  ) {}

  static async start(target: { host?: string; port: number }, options: FaultProxyOptions = {}): Promise<FaultProxy> {
    let proxy!: FaultProxy;
    const server = net.createServer((client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    proxy = new FaultProxy(server, port, { host: target.host ?? '127.0.0.1', port: target.port }, options);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Point at another upstream (a restarted server on a new port). */
  retarget(port: number, host = '127.0.0.1'): void {
    this.target = { host, port };
  }

  set(mode: FaultMode): void {
    this.mode = mode;
    if (mode.kind === 'drop') {
      if (this.sockets.size > 0) this.stats.drop++;
      for (const s of this.sockets) s.destroy();
    }
  }

  /** Cut every open connection (as a restart of a middlebox would). */
  cutAll(): void {
    for (const s of this.sockets) s.resetAndDestroy();
  }

  private accept(client: net.Socket): void {
    const n = this.stats.connections++;
    const planned = this.options.plan?.(n);
    const hit = new Set<FaultMode['kind']>();
    const modeOf = (): FaultMode => {
      const m = planned ?? this.mode;
      if (!hit.has(m.kind)) {
        hit.add(m.kind);
        this.stats[m.kind]++;
      }
      return m;
    };
    modeOf();
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    if (modeOf().kind === 'drop') {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    let clientChain = Promise.resolve();
    let upstreamChain = Promise.resolve();
    let replyBytes = 0;
    client.on('data', (chunk) => {
      const m = modeOf();
      if (m.kind === 'blackhole') return;
      if (m.kind === 'drop') return void client.destroy();
      replyBytes = 0; // a new request: count its reply from zero
      const wait = m.kind === 'delay' ? m.ms : 0;
      clientChain = clientChain.then(() => pause(wait)).then(() => void (upstream.destroyed || upstream.write(chunk)));
    });
    upstream.on('data', (chunk) => {
      const m = modeOf();
      if (m.kind === 'blackhole') return;
      if (m.kind === 'drop') return void client.destroy();
      if (m.kind === 'reset') {
        const room = m.afterBytes - replyBytes;
        if (room <= 0 || chunk.length > room) {
          if (room > 0) client.write(chunk.subarray(0, room));
          replyBytes += Math.max(0, room);
          if (m.once && this.mode === m) this.mode = { kind: 'pass' };
          // Let the partial bytes leave, then cut with an RST.
          setImmediate(() => {
            client.resetAndDestroy();
            upstream.destroy();
          });
          return;
        }
        replyBytes += chunk.length;
      }
      const wait = m.kind === 'delay' ? m.ms : 0;
      upstreamChain = upstreamChain.then(() => pause(wait)).then(() => void (client.destroyed || client.write(chunk)));
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function pause(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
