/**
 * A row of ledger.db's checkpoints table (spec §12.5). A file of its own so that public types
 * naming it do not pull in the SQLite driver.
 */
export interface StoredCheckpoint {
  size: number;
  root: string;
  note: string;
  createdAt: string;
}
