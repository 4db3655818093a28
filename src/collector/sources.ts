/**
 * The registry of sources (spec §18.2): hosts allowed to ship, their token hash, their event
 * signing keys with validity windows, and their checkpoint verifier keys. The only module that
 * writes the sources, source_keys and checkpoint_keys tables.
 */
import { Keyring, type KeyringEntry } from '../crypto/keyring.js';
import { CollectorError, KeyError } from '../errors.js';
import { decodeBase64Strict, encodeBase64 } from '../codec/strict-base64.js';
import { parseVerifierKey } from '../merkle/verifier-key.js';
import { GENESIS_PREV } from '../format/event.js';
import type { CollectorDatabase } from './database.js';
import { bumpCredentialsVersion, lockHead } from './row-lock.js';
import { assertSourceName, isSourceName } from './source-name.js';
import { isWellFormedToken, newToken, tokenHash } from './tokens.js';

export interface SourceKeys {
  /** Event signing keys (spec §5.3), with their windows. */
  eventKeys: KeyringEntry[];
  /** C2SP verifier key strings trusted for the source's checkpoints. */
  checkpointKeys: string[];
}

export interface NewSource extends Partial<SourceKeys> {
  name: string;
  requireSignatures?: boolean;
  /** The origin line of the source's checkpoints (how the witness finds the log). */
  origin?: string;
}

export interface SourceSummary {
  source: string;
  head: { seq: number; hash: string } | null;
  next: number;
  lastEventAt: string | null;
  cosigned: { size: number; root: string } | null;
  forks: number;
}

export interface SourceDetails extends SourceSummary {
  requireSignatures: boolean;
  origin: string | null;
  createdAt: string;
  keys: (Omit<KeyringEntry, 'publicKey'> & { publicKey: string })[];
  checkpointKeys: { verifierKey: string; addedAt: string; retiredAt: string | null }[];
}

/**
 * What ingest needs of a source, cached per process (spec §18.3.7): valid while the head row's
 * credentials version, read under the batch's row lock, still equals `version`.
 */
export interface IngestContext {
  version: number;
  tokenHash: string;
  keyring: Keyring;
  requireSignatures: boolean;
}

export type AuthResult = { ok: true } | { ok: false; code: 'UNAUTHORIZED' | 'FORBIDDEN' | 'UNKNOWN_SOURCE' };

const ORIGIN = /^[\x21-\x7e][\x20-\x7e]{0,254}$/;

function now(): string {
  return new Date().toISOString();
}

function unknownSource(name: string): CollectorError {
  return new CollectorError('UNKNOWN_SOURCE', `no source named ${name}`, { details: { source: name } });
}

export class SourceRegistry {
  readonly #cache = new Map<string, IngestContext>();

  constructor(private readonly handle: CollectorDatabase) {}

  /** Registers a source and returns its bearer token, which is not stored and cannot be shown again. */
  async add(src: NewSource): Promise<{ token: string }> {
    assertSourceName(src.name);
    if (src.origin !== undefined && !ORIGIN.test(src.origin)) {
      throw new CollectorError('INVALID_ARGUMENT', 'origin must be 1-255 printable ASCII characters, not starting with a space');
    }
    const checkpointKeys = (src.checkpointKeys ?? []).map((k) => (parseVerifierKey(k), k));
    const ring = new Keyring(src.eventKeys ?? []); // validates every entry (spec §5.3)
    const token = newToken();
    const at = now();
    await this.handle.db.transaction().execute(async (trx) => {
      const exists = await trx.selectFrom('sources').select('name').where('name', '=', src.name).executeTakeFirst();
      if (exists) throw new CollectorError('SOURCE_EXISTS', `a source named ${src.name} exists already`, { details: { source: src.name } });
      if (src.origin !== undefined) {
        const other = await trx.selectFrom('sources').select('name').where('checkpoint_origin', '=', src.origin).executeTakeFirst();
        if (other) throw new CollectorError('SOURCE_EXISTS', `source ${other.name} already has the checkpoint origin ${src.origin}`, { details: { source: other.name } });
      }
      await trx
        .insertInto('sources')
        .values({ name: src.name, token_hash: tokenHash(token), require_signatures: src.requireSignatures ? 1 : 0, checkpoint_origin: src.origin ?? null, created_at: at })
        .execute();
      await trx.insertInto('heads').values({ source: src.name, seq: -1, hash: GENESIS_PREV, at: null, updated_at: at }).execute();
      for (const e of ring.list()) await trx.insertInto('source_keys').values(keyRow(src.name, e, at)).execute();
      for (const k of new Set(checkpointKeys)) await trx.insertInto('checkpoint_keys').values({ source: src.name, verifier_key: k, added_at: at, retired_at: null }).execute();
    });
    return { token };
  }

  /** Adds event signing keys and/or checkpoint keys. A kid already registered must be identical. */
  async addKeys(name: string, keys: Partial<SourceKeys>): Promise<void> {
    assertSourceName(name);
    for (const k of keys.checkpointKeys ?? []) parseVerifierKey(k);
    const at = now();
    await this.handle.db.transaction().execute(async (trx) => {
      if (!(await lockHead(trx, this.handle.dialect, name))) throw unknownSource(name);
      const ring = await this.#keyring(trx, name);
      for (const e of keys.eventKeys ?? []) {
        const known = ring.has(e.kid);
        ring.add(e); // throws INVALID_KEYRING when the kid is known with other content
        if (!known) await trx.insertInto('source_keys').values(keyRow(name, e, at)).execute();
      }
      for (const k of new Set(keys.checkpointKeys ?? [])) {
        const row = await trx.selectFrom('checkpoint_keys').select('verifier_key').where('source', '=', name).where('verifier_key', '=', k).executeTakeFirst();
        if (!row) await trx.insertInto('checkpoint_keys').values({ source: name, verifier_key: k, added_at: at, retired_at: null }).execute();
      }
      await bumpCredentialsVersion(trx, name);
    });
    this.#cache.delete(name);
  }

  /**
   * Retires an event key (spec §5.3) from `when` on (default: the next seq and now) and any
   * checkpoint key of the same public key. Events already stored under the key stay valid.
   */
  async retireKey(name: string, kid: string, when?: { seq?: number; at?: string }): Promise<KeyringEntry> {
    assertSourceName(name);
    return this.handle.db.transaction().execute(async (trx) => {
      const head = await lockHead(trx, this.handle.dialect, name);
      if (!head) throw unknownSource(name);
      const ring = await this.#keyring(trx, name);
      if (!ring.has(kid)) throw new KeyError('UNKNOWN_KEY', `source ${name} has no key ${kid.slice(0, 64)}`, { details: { kid } });
      const at = when?.at ?? now().replace(/\.\d+Z$/, 'Z');
      const retired = ring.retire(kid, { seq: when?.seq ?? head.seq + 1, at });
      await trx
        .updateTable('source_keys')
        .set({ retired_at_seq: retired.retiredAtSeq ?? null, valid_until: retired.validUntil ?? null })
        .where('source', '=', name)
        .where('kid', '=', kid)
        .execute();
      const cks = await trx.selectFrom('checkpoint_keys').select('verifier_key').where('source', '=', name).where('retired_at', 'is', null).execute();
      for (const { verifier_key } of cks) {
        if (Buffer.from(parseVerifierKey(verifier_key).publicKey).equals(retired.publicKey)) {
          await trx.updateTable('checkpoint_keys').set({ retired_at: at }).where('source', '=', name).where('verifier_key', '=', verifier_key).execute();
        }
      }
      await bumpCredentialsVersion(trx, name);
      return retired;
    }).finally(() => this.#cache.delete(name));
  }

  async rotateToken(name: string): Promise<{ token: string }> {
    assertSourceName(name);
    const token = newToken();
    // Under the head row's lock, with the version bump: a batch of another process that holds
    // the lock commits first under the old token; every later one sees the new version.
    await this.handle.db.transaction().execute(async (trx) => {
      if (!(await lockHead(trx, this.handle.dialect, name))) throw unknownSource(name);
      await trx.updateTable('sources').set({ token_hash: tokenHash(token) }).where('name', '=', name).execute();
      await bumpCredentialsVersion(trx, name);
    });
    this.#cache.delete(name);
    return { token };
  }

  /**
   * Who may write to `name`: the source's own token only. A token of another source is
   * FORBIDDEN (it is a valid credential, for something else); anything else UNAUTHORIZED.
   */
  async authenticate(name: string, token: string | undefined): Promise<AuthResult> {
    if (!isSourceName(name)) return { ok: false, code: 'UNKNOWN_SOURCE' };
    if (token === undefined || !isWellFormedToken(token)) {
      return (await this.exists(name)) ? { ok: false, code: 'UNAUTHORIZED' } : { ok: false, code: 'UNKNOWN_SOURCE' };
    }
    // A cached match stands while the source's credentials version is the cached one: one
    // primary-key read before the body is read, so a token rotated out by another process is
    // refused before its batch is read (spec §18.3.7). The batch's row lock confirms it again.
    const cached = this.#cache.get(name);
    if (cached?.tokenHash === tokenHash(token)) {
      const head = await this.handle.db.selectFrom('heads').select('credentials_version').where('source', '=', name).executeTakeFirst();
      if (head?.credentials_version === cached.version) return { ok: true };
      this.#cache.delete(name);
    }
    const owner = await this.handle.db.selectFrom('sources').select('name').where('token_hash', '=', tokenHash(token)).executeTakeFirst();
    if (owner?.name === name) return { ok: true };
    if (!(await this.exists(name))) return { ok: false, code: 'UNKNOWN_SOURCE' };
    return { ok: false, code: owner ? 'FORBIDDEN' : 'UNAUTHORIZED' };
  }

  /** Issues (or replaces) the source's read token: it reads and follows, never ingests. */
  async issueReadToken(name: string): Promise<{ token: string }> {
    assertSourceName(name);
    const token = newToken();
    const r = await this.handle.db.updateTable('sources').set({ read_token_hash: tokenHash(token) }).where('name', '=', name).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw unknownSource(name);
    return { token };
  }

  /** Who may read `name`: its own token or its read token. */
  async authenticateRead(name: string, token: string | undefined): Promise<AuthResult> {
    if (token !== undefined && isSourceName(name) && isWellFormedToken(token)) {
      const r = await this.handle.db.selectFrom('sources').select('name').where('name', '=', name).where('read_token_hash', '=', tokenHash(token)).executeTakeFirst();
      if (r) return { ok: true };
    }
    return this.authenticate(name, token);
  }

  async exists(name: string): Promise<boolean> {
    if (!isSourceName(name)) return false;
    return (await this.handle.db.selectFrom('sources').select('name').where('name', '=', name).executeTakeFirst()) !== undefined;
  }

  /**
   * What ingest needs, from this process's cache or the database; undefined for an unknown
   * source. The version is read before the rest, so what is read with it is at least as new: a
   * change committed in between shows as a version mismatch under the row lock, never as a
   * stale context taken for current.
   */
  async ingestContext(name: string): Promise<IngestContext | undefined> {
    const cached = this.#cache.get(name);
    if (cached) return cached;
    const { db } = this.handle;
    const head = await db.selectFrom('heads').select('credentials_version').where('source', '=', name).executeTakeFirst();
    if (!head) return undefined;
    const src = await db.selectFrom('sources').select(['token_hash', 'require_signatures']).where('name', '=', name).executeTakeFirst();
    if (!src) return undefined;
    const ctx: IngestContext = {
      version: head.credentials_version,
      tokenHash: src.token_hash,
      keyring: await this.#keyring(db, name),
      requireSignatures: src.require_signatures === 1,
    };
    this.#cache.set(name, ctx);
    return ctx;
  }

  /** Drops the cached context of `name` (its version no longer matches the database's). */
  forget(name: string): void {
    this.#cache.delete(name);
  }

  /** What ingest needs: the keyring and whether signatures are required; undefined if unknown. */
  async verificationContext(name: string): Promise<{ keyring: Keyring; requireSignatures: boolean } | undefined> {
    const src = await this.handle.db.selectFrom('sources').select('require_signatures').where('name', '=', name).executeTakeFirst();
    if (!src) return undefined;
    return { keyring: await this.#keyring(this.handle.db, name), requireSignatures: src.require_signatures === 1 };
  }

  async #keyring(db: CollectorDatabase['db'], name: string): Promise<Keyring> {
    const rows = await db.selectFrom('source_keys').selectAll().where('source', '=', name).orderBy('added_at').orderBy('kid').execute();
    return new Keyring(rows.map(rowToEntry));
  }

  async list(): Promise<SourceSummary[]> {
    const names = await this.handle.db.selectFrom('sources').select('name').orderBy('name').execute();
    return Promise.all(names.map((n) => this.summary(n.name)));
  }

  async summary(name: string): Promise<SourceSummary> {
    const { db } = this.handle;
    const head = await db.selectFrom('heads').select(['seq', 'hash', 'at']).where('source', '=', name).executeTakeFirst();
    if (!head) throw unknownSource(name);
    const ws = await db.selectFrom('witness_state').select(['size', 'root']).where('source', '=', name).executeTakeFirst();
    const forks = await db.selectFrom('forks').select((eb) => eb.fn.countAll<number | string>().as('n')).where('source', '=', name).executeTakeFirst();
    return {
      source: name,
      head: head.seq < 0 ? null : { seq: head.seq, hash: head.hash },
      next: head.seq + 1,
      lastEventAt: head.at,
      cosigned: ws ? { size: ws.size, root: Buffer.from(ws.root, 'hex').toString('base64') } : null,
      forks: Number(forks?.n ?? 0),
    };
  }

  async details(name: string): Promise<SourceDetails> {
    assertSourceName(name);
    const { db } = this.handle;
    const src = await db.selectFrom('sources').selectAll().where('name', '=', name).executeTakeFirst();
    if (!src) throw unknownSource(name);
    const keys = (await this.#keyring(db, name)).list().map((e) => ({ ...e, publicKey: encodeBase64(e.publicKey) }));
    const cks = await db.selectFrom('checkpoint_keys').selectAll().where('source', '=', name).orderBy('added_at').execute();
    return {
      ...(await this.summary(name)),
      requireSignatures: src.require_signatures === 1,
      origin: src.checkpoint_origin,
      createdAt: src.created_at,
      keys,
      checkpointKeys: cks.map((k) => ({ verifierKey: k.verifier_key, addedAt: k.added_at, retiredAt: k.retired_at })),
    };
  }
}

function keyRow(source: string, e: KeyringEntry, at: string) {
  return {
    source,
    kid: e.kid,
    name: e.name,
    public_key: encodeBase64(e.publicKey),
    valid_from: e.validFrom ?? null,
    valid_until: e.validUntil ?? null,
    valid_from_seq: e.validFromSeq ?? null,
    retired_at_seq: e.retiredAtSeq ?? null,
    added_at: at,
  };
}

function rowToEntry(r: {
  kid: string; name: string; public_key: string; valid_from: string | null; valid_until: string | null;
  valid_from_seq: number | null; retired_at_seq: number | null;
}): KeyringEntry {
  const publicKey = decodeBase64Strict(r.public_key);
  if (publicKey === undefined) throw new KeyError('INVALID_KEYRING', `stored key ${r.kid} is not base64`);
  return {
    kid: r.kid,
    name: r.name,
    publicKey,
    ...(r.valid_from === null ? {} : { validFrom: r.valid_from }),
    ...(r.valid_until === null ? {} : { validUntil: r.valid_until }),
    ...(r.valid_from_seq === null ? {} : { validFromSeq: r.valid_from_seq }),
    ...(r.retired_at_seq === null ? {} : { retiredAtSeq: r.retired_at_seq }),
  };
}
