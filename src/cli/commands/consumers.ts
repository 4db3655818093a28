/**
 * `sealed-ledger consumers list|reset <dir>` (spec §15.1, §21.6): durable consumers' offsets.
 * Neither takes the writer's lock; reset writes the offset file as ack() does (atomic, fsynced).
 */
import { listConsumers as list, resetConsumer as reset } from '../../feed/index.js';
import type { CliContext } from '../context.js';
import { requireLedger } from '../ledger-folder.js';

export interface ResetOptions {
  name: string;
  toSeq: number;
  json?: boolean;
}

export async function listConsumers(ctx: CliContext, dir: string, o: { json?: boolean }): Promise<void> {
  requireLedger(dir);
  const rows = await list(dir);
  if (o.json) return ctx.out.json(rows);
  if (rows.length === 0) return ctx.out.say('no consumers');
  for (const r of rows) {
    const lag = r.lag === undefined ? '?' : String(r.lag);
    await ctx.out.write(`${r.name}  seq ${r.seq}  lag ${lag}  ${r.updatedAt || 'never acknowledged'}\n`);
  }
}

export async function resetConsumer(ctx: CliContext, dir: string, o: ResetOptions): Promise<void> {
  requireLedger(dir);
  const offset = await reset(dir, o.name, { toSeq: o.toSeq });
  if (o.json) return ctx.out.json(offset);
  return ctx.out.say(`consumer ${offset.name} resumes at seq ${offset.seq + 1}`);
}
