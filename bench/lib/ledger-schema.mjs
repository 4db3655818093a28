// The schema of ledger.db as the library's own migrations create it (spec §8.1), read back from a
// fresh ledger's sqlite_master: the raw baselines and ceilings build their tables from this, so
// they cannot drift from the projection they are compared with.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Ledger } from '../../dist/index.js';

let template;

/**
 * `events`: CREATE TABLE events as migrated (its UNIQUE on id included) and its secondary
 * indexes, each `{ name, sql }`; `bareEvents`: the same columns with no index at all (seq stays
 * the rowid alias, which is no index); `uniqueIndexes`: the table's UNIQUE constraints as
 * CREATE UNIQUE INDEX statements (a table without them plus these has the same keys);
 * `merkleNodes`: CREATE TABLE merkle_nodes; `ledgerDb`: a fresh, empty ledger.db to copy.
 */
export async function ledgerSchema() {
  template ??= readSchema();
  return template;
}

/** A copy of a fresh, empty ledger.db at `file`: the state replay starts from. */
export async function freshLedgerDb(file) {
  fs.copyFileSync((await ledgerSchema()).ledgerDb, file);
}

async function readSchema() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealed-ledger-schema-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  await (await Ledger.open({ dir, create: true })).close();
  const ledgerDb = path.join(dir, 'ledger.db');
  if (fs.existsSync(`${ledgerDb}-wal`) && fs.statSync(`${ledgerDb}-wal`).size > 0) throw new Error('fresh ledger.db left a WAL behind: copies would miss it');
  const db = new Database(ledgerDb, { readonly: true });
  try {
    const objects = db.prepare("SELECT type, name, tbl_name AS tbl, sql FROM sqlite_master WHERE tbl_name IN ('events', 'merkle_nodes')").all();
    const tableSql = (name) => objects.find((o) => o.type === 'table' && o.name === name)?.sql ?? fail(`ledger.db has no ${name} table`);
    const indexes = objects.filter((o) => o.type === 'index' && o.tbl === 'events' && o.sql !== null).map(({ name, sql }) => ({ name, sql }));
    const columns = db.prepare('PRAGMA table_info(events)').all();
    const pk = columns.filter((c) => c.pk);
    // Only an INTEGER PRIMARY KEY is the rowid itself; any other key would be an index.
    if (pk.length !== 1 || pk[0].type.toUpperCase() !== 'INTEGER') fail(`events' primary key is not a single INTEGER column: ${JSON.stringify(pk)}`);
    const q = (name) => `"${name.replaceAll('"', '""')}"`;
    const bareEvents = `CREATE TABLE events (${columns.map((c) => `${q(c.name)} ${c.type}${c.pk ? ' PRIMARY KEY' : ''}${c.notnull ? ' NOT NULL' : ''}`).join(', ')})`;
    const uniqueIndexes = db
      .prepare('PRAGMA index_list(events)')
      .all()
      .filter((i) => i.origin === 'u')
      .map((i, k) => {
        const cols = db.prepare(`PRAGMA index_info(${q(i.name)})`).all().map((c) => q(c.name));
        return { name: `events_unique_${k}`, sql: `CREATE UNIQUE INDEX events_unique_${k} ON events (${cols.join(', ')})` };
      });
    return { events: tableSql('events'), indexes, bareEvents, uniqueIndexes, merkleNodes: tableSql('merkle_nodes'), ledgerDb, columns: columns.map((c) => c.name) };
  } finally {
    db.close();
  }
}

function fail(message) {
  throw new Error(`bench: ${message}`);
}
