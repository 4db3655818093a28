/**
 * Parsers for option values. A bad value is a commander InvalidArgumentError, which the
 * program reports as a usage error (exit 64) naming the option.
 */
import { InvalidArgumentError } from 'commander';

/** A non-negative safe integer written in decimal. */
export function parseCount(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a non-negative integer');
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('is too large');
  return n;
}

/** A positive integer (milliseconds, counts that cannot be zero). */
export function parsePositive(value: string): number {
  const n = parseCount(value);
  if (n === 0) throw new InvalidArgumentError('must be at least 1');
  return n;
}
