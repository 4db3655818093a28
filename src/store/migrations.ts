/**
 * Embedded Kysely migrations for ledger.db (spec §8.1). Embedded, not read from a folder, so the
 * published package carries its schema and nothing is resolved from disk at open.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { LedgerStateError } from '../errors.js';
import { GENESIS_PREV } from '../format/event.js';

const migrations: Record<string, Migration> = {
  '0001_events_watermark_tree': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('events')
        .addColumn('seq', 'integer', (c) => c.primaryKey())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('actor', 'text')
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('kid', 'text')
        .addColumn('line', 'text', (c) => c.notNull())
        .addColumn('offset', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_kind_seq').on('events').columns(['kind', 'seq']).execute();
      await db.schema.createIndex('events_actor_seq').on('events').columns(['actor', 'seq']).execute();
      await db.schema.createIndex('events_at').on('events').column('at').execute();
      await db.schema
        .createTable('watermark')
        .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('offset', 'integer', (c) => c.notNull())
        .addColumn('line_start', 'integer', (c) => c.notNull())
        .execute();
      await sql`INSERT INTO watermark (id, seq, hash, offset, line_start) VALUES (1, -1, ${GENESIS_PREV}, 0, 0)`.execute(db);
      await db.schema
        .createTable('projection_tamper')
        .addColumn('rowid', 'integer', (c) => c.primaryKey())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('op', 'text', (c) => c.notNull())
        .addColumn('observed_at', 'text', (c) => c.notNull().defaultTo(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`))
        .execute();
      // The ledger never deletes or updates an events row; anyone who does leaves a trace that
      // open() finds in O(1) instead of scanning every row (spec §8.3).
      await sql`CREATE TRIGGER events_deleted AFTER DELETE ON events BEGIN
        INSERT INTO projection_tamper (seq, op) VALUES (OLD.seq, 'delete'); END`.execute(db);
      await sql`CREATE TRIGGER events_updated AFTER UPDATE ON events BEGIN
        INSERT INTO projection_tamper (seq, op) VALUES (OLD.seq, 'update'); END`.execute(db);
      await sql`CREATE TABLE merkle_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)) WITHOUT ROWID`.execute(db);
      await db.schema
        .createTable('checkpoints')
        .addColumn('size', 'integer', (c) => c.primaryKey())
        .addColumn('root', 'text', (c) => c.notNull())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

class EmbeddedMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/** Bring ledger.db to the latest schema; throws LedgerStateError on failure (spec §8.1). */
export async function migrateToLatest(db: Kysely<unknown>): Promise<void> {
  let outcome = await new Migrator({ db, provider: new EmbeddedMigrations() }).migrateToLatest();
  // Two first opens of one folder race to create the schema (each migration is a transaction,
  // so the loser sees "already exists"); on the retry the migration table says it is done.
  for (let attempt = 0; outcome.error && attempt < 3; attempt++) {
    await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
    outcome = await new Migrator({ db, provider: new EmbeddedMigrations() }).migrateToLatest();
  }
  const { error, results } = outcome;
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new LedgerStateError('LEDGER_CORRUPT', `ledger.db schema migration ${failed} failed`, { cause: error });
  }
}
