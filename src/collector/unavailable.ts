/**
 * Telling "the database is unreachable" (503, retry later) from a bug (500) (spec §18.5). pg
 * reports a lost server as socket errors, SQLSTATE class 08 / 57P0x, or a few plain messages;
 * SQLite as SQLITE_BUSY (another process holds the write lock past the busy timeout) or I/O
 * errors. Anything else is not a reason to tell a client to come back.
 */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
const PG_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection terminated unexpectedly',
  'the database system is',
];

export function isDatabaseUnavailable(e: unknown): boolean {
  for (let cur = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (SOCKET_CODES.has(code)) return true;
      if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true;
      if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_IOERR' || code === 'SQLITE_FULL') return true;
    }
    const message = (cur as { message?: unknown }).message;
    if (typeof message === 'string' && PG_MESSAGES.some((m) => message.includes(m))) return true;
    if (Array.isArray((cur as { errors?: unknown }).errors)) {
      if (((cur as { errors: unknown[] }).errors).some(isDatabaseUnavailable)) return true;
    }
  }
  return false;
}
