// Child that takes the ledger's SQLite writer lock and then waits to be SIGKILLed.
import Database from 'better-sqlite3';

const db = new Database(process.argv[2]);
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\n');
setInterval(() => {}, 1000);
