/**
 * The collector's migrations: one set for PostgreSQL and SQLite (ADR 0016). Embedded so the
 * package carries its schema. Where the two engines need different column types (the identity
 * column, binary data) the migration asks its dialect, never a second file.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { CollectorSchema } from './schema.js';
import type { DialectName } from './database.js';
import { WITNESS_LOG_GENESIS, witnessLogHash } from './witness-log.js';

export const MIGRATION_TABLE = 'collector_migrations';

function migrations(dialect: DialectName): Record<string, Migration> {
  const pg = dialect === 'postgres';
  const bytes = pg ? 'bytea' : 'blob';
  const bigint = pg ? 'bigint' : 'integer';
  return {
    '0001_sources_events_forks': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('sources')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('require_signatures', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('checkpoint_origin', 'text', (c) => c.unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('heads')
          .addColumn('source', 'text', (c) => c.primaryKey().references('sources.name'))
          .addColumn('seq', bigint, (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('at', 'text')
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('source_keys')
          .addColumn('source', 'text', (c) => c.notNull().references('sources.name'))
          .addColumn('kid', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('public_key', 'text', (c) => c.notNull())
          .addColumn('valid_from', 'text')
          .addColumn('valid_until', 'text')
          .addColumn('valid_from_seq', bigint)
          .addColumn('retired_at_seq', bigint)
          .addColumn('added_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('source_keys_pk', ['source', 'kid'])
          .execute();
        await db.schema
          .createTable('events')
          .addColumn('ingest', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('source', 'text', (c) => c.notNull().references('sources.name'))
          .addColumn('seq', bigint, (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('line', bytes, (c) => c.notNull())
          .addColumn('received_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('events_source_seq', ['source', 'seq'])
          .addUniqueConstraint('events_source_id', ['source', 'id'])
          .execute();
        await db.schema
          .createTable('forks')
          .addColumn('id', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('source', 'text', (c) => c.notNull().references('sources.name'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('seq', bigint, (c) => c.notNull())
          .addColumn('stored', bytes, (c) => c.notNull())
          .addColumn('offered', bytes, (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('detected_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('forks_source').on('forks').columns(['source', 'id']).execute();
        await db.schema
          .createTable('checkpoint_keys')
          .addColumn('source', 'text', (c) => c.notNull().references('sources.name'))
          .addColumn('verifier_key', 'text', (c) => c.notNull())
          .addColumn('added_at', 'text', (c) => c.notNull())
          .addColumn('retired_at', 'text')
          .addPrimaryKeyConstraint('checkpoint_keys_pk', ['source', 'verifier_key'])
          .execute();
        await db.schema
          .createTable('witness_state')
          .addColumn('source', 'text', (c) => c.primaryKey().references('sources.name'))
          .addColumn('size', bigint, (c) => c.notNull())
          .addColumn('root', 'text', (c) => c.notNull())
          .addColumn('note', 'text', (c) => c.notNull())
          .addColumn('cosigned_at', bigint, (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        // Evidence is append-only in the database too, not only in our code.
        if (pg) {
          await sql`CREATE FUNCTION collector_forks_immutable() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'forks rows are evidence and are never changed'; END $$`.execute(db);
          await sql`CREATE TRIGGER forks_immutable BEFORE UPDATE OR DELETE ON forks
            FOR EACH ROW EXECUTE FUNCTION collector_forks_immutable()`.execute(db);
        } else {
          await sql`CREATE TRIGGER forks_no_update BEFORE UPDATE ON forks BEGIN
            SELECT RAISE(ABORT, 'forks rows are evidence and are never changed'); END`.execute(db);
          await sql`CREATE TRIGGER forks_no_delete BEFORE DELETE ON forks BEGIN
            SELECT RAISE(ABORT, 'forks rows are evidence and are never changed'); END`.execute(db);
        }
      },
    },
    // A read-only token per source, for followers of its events (spec §18.2, §18.10).
    '0002_source_read_tokens': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('sources').addColumn('read_token_hash', 'text').execute();
        await db.schema.createIndex('sources_read_token_hash').unique().on('sources').column('read_token_hash').execute();
      },
    },
    // Bumped by every change of a source's token or keys, and read with the head row's lock, so
    // a process that caches them sees another process's change at its next batch (ADR 0027).
    '0003_head_credentials_version': {
      async up(db: Kysely<unknown>) {
        await db.schema.alterTable('heads').addColumn('credentials_version', bigint, (c) => c.notNull().defaultTo(0)).execute();
      },
    },
    // The witness's cosignatures as an append-only, chained log (spec §18.9.1). A state cosigned
    // before this migration becomes the first record of its source's log.
    '0004_witness_log': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('witness_log')
          .addColumn('id', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('source', 'text', (c) => c.notNull().references('sources.name'))
          .addColumn('size', bigint, (c) => c.notNull())
          .addColumn('root', 'text', (c) => c.notNull())
          .addColumn('note', 'text', (c) => c.notNull())
          .addColumn('cosigned_at', bigint, (c) => c.notNull())
          .addColumn('prev', 'text', (c) => c.notNull())
          .addColumn('hash', 'text', (c) => c.notNull())
          .addColumn('recorded_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('witness_log_source_prev', ['source', 'prev'])
          .execute();
        if (pg) {
          await sql`CREATE FUNCTION collector_witness_log_immutable() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'witness_log rows are never changed'; END $$`.execute(db);
          await sql`CREATE TRIGGER witness_log_immutable BEFORE UPDATE OR DELETE ON witness_log
            FOR EACH ROW EXECUTE FUNCTION collector_witness_log_immutable()`.execute(db);
        } else {
          await sql`CREATE TRIGGER witness_log_no_update BEFORE UPDATE ON witness_log BEGIN
            SELECT RAISE(ABORT, 'witness_log rows are never changed'); END`.execute(db);
          await sql`CREATE TRIGGER witness_log_no_delete BEFORE DELETE ON witness_log BEGIN
            SELECT RAISE(ABORT, 'witness_log rows are never changed'); END`.execute(db);
        }
        const states = await (db as Kysely<CollectorSchema>).selectFrom('witness_state').selectAll().orderBy('source').execute();
        for (const st of states) {
          const record = { source: st.source, size: Number(st.size), root: st.root, note: st.note, cosigned_at: Number(st.cosigned_at), prev: WITNESS_LOG_GENESIS };
          await (db as Kysely<CollectorSchema>).insertInto('witness_log').values({ ...record, hash: witnessLogHash(record), recorded_at: st.updated_at }).execute();
        }
      },
    },
  };
}

class EmbeddedMigrations implements MigrationProvider {
  constructor(private readonly dialect: DialectName) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.dialect);
  }
}

export function collectorMigrator(db: Kysely<CollectorSchema>, dialect: DialectName): Migrator {
  return new Migrator({
    db,
    provider: new EmbeddedMigrations(dialect),
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: `${MIGRATION_TABLE}_lock`,
  });
}

/** Names of the migrations this code knows, in order; /readyz compares them with the database. */
export function knownMigrations(dialect: DialectName): string[] {
  return Object.keys(migrations(dialect)).sort();
}
