/**
 * Taking a row's write lock at the start of a transaction, on both engines (ADR 0016).
 * PostgreSQL: `SELECT … FOR UPDATE` locks that one row until commit, so any number of collector
 * processes serialise per source and no further. SQLite has no row locks: a first statement that
 * writes takes the database's write lock at once (a read first would risk SQLITE_BUSY_SNAPSHOT
 * when upgrading), so a no-op UPDATE of the row plays the part.
 */
import type { Transaction } from 'kysely';
import type { DialectName } from './database.js';
import type { CollectorSchema } from './schema.js';

export interface LockedHead {
  seq: number;
  hash: string;
  at: string | null;
  /** The source's credentials version (spec §18.3.7), read under the same lock. */
  version: number;
}

/** Locks and returns the head row of `source`, or undefined when the source does not exist. */
export async function lockHead(trx: Transaction<CollectorSchema>, dialect: DialectName, source: string): Promise<LockedHead | undefined> {
  if (dialect === 'sqlite') {
    await trx.updateTable('heads').set((eb) => ({ seq: eb.ref('seq') })).where('source', '=', source).execute();
    return trx.selectFrom('heads').select(['seq', 'hash', 'at', 'credentials_version as version']).where('source', '=', source).executeTakeFirst();
  }
  return trx.selectFrom('heads').select(['seq', 'hash', 'at', 'credentials_version as version']).where('source', '=', source).forUpdate().executeTakeFirst();
}

/** Bumps the credentials version of a source whose head row this transaction has locked. */
export async function bumpCredentialsVersion(trx: Transaction<CollectorSchema>, source: string): Promise<void> {
  await trx.updateTable('heads').set((eb) => ({ credentials_version: eb('credentials_version', '+', 1) })).where('source', '=', source).execute();
}

/** Locks the sources row of `source`; false when there is none. */
export async function lockSource(trx: Transaction<CollectorSchema>, dialect: DialectName, source: string): Promise<boolean> {
  if (dialect === 'sqlite') {
    const r = await trx.updateTable('sources').set((eb) => ({ name: eb.ref('name') })).where('name', '=', source).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
  const row = await trx.selectFrom('sources').select('name').where('name', '=', source).forUpdate().executeTakeFirst();
  return row !== undefined;
}
