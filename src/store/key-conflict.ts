/**
 * SQLite refused a row for a key the table already holds (SQLITE_CONSTRAINT_PRIMARYKEY or
 * _UNIQUE). Only that refusal is a conflict the replay paths name (MIRROR_CONFLICT) or retry row by
 * row; any other constraint (NOT NULL, CHECK) is a defect of ours and is thrown as SQLite threw it.
 */
export function isKeyConflict(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
