#!/usr/bin/env node
/**
 * The `sealed-ledger` executable. The exit status is set, not forced with process.exit(), so
 * everything written to a pipe is flushed before the process ends.
 */
import { run } from './program.js';

process.exitCode = await run(process.argv.slice(2));
