/**
 * The witness over HTTP (spec §19.2, §19.6), a Fastify plugin the collector registers:
 *
 *     POST /add-checkpoint                    C2SP tlog-witness
 *     GET  /v1/sources/:source/checkpoint     the latest cosigned checkpoint, text/plain
 *
 * Register it without fastify-plugin: its catch-all body parser must stay inside its scope.
 */
import type { FastifyInstance, FastifyReply, preHandlerHookHandler } from 'fastify';
import { cosignatureVerifierKeyString, type CosignatureSigner } from '../merkle/cosignature.js';
import { Witness, type AddCheckpointOutcome } from './add-checkpoint.js';
import type { WitnessForkEvidence, WitnessStateStore } from './state.js';

/** Ample for 63 proof lines and a checkpoint with a hundred signatures. */
export const DEFAULT_WITNESS_BODY_LIMIT = 64 * 1024;
/** C2SP tlog-witness: the media type of a 409 body. */
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';

export interface WitnessRoutesOptions {
  store: WitnessStateStore;
  /** The witness key; its name is the witness name in cosignature lines. */
  witnessKey: CosignatureSigner;
  /** Further witness keys (e.g. during a key rotation), each adding a cosignature line. */
  extraWitnessKeys?: readonly CosignatureSigner[];
  /** Incremented once per cosigned checkpoint. */
  cosignaturesIssued?: { inc(labels: { source: string }): void };
  /** Called after fork evidence was stored (the collector logs at error and counts it). */
  onFork?(source: string, evidence: WitnessForkEvidence): void;
  /** POSIX seconds for the cosignature timestamp. */
  now?: () => number;
  bodyLimit?: number;
  /** Runs before the GET route, e.g. a token check. None by default: cosigned checkpoints are public. */
  checkpointPreHandler?: preHandlerHookHandler;
}

const TEXT = 'text/plain; charset=utf-8';

function send(reply: FastifyReply, out: AddCheckpointOutcome): FastifyReply {
  if (out.status === 200) return reply.code(200).type(TEXT).send(out.cosignatures);
  if (out.status === 409) return reply.code(409).type(TLOG_SIZE_CONTENT_TYPE).send(`${out.knownSize}\n`);
  return reply.code(out.status).type(TEXT).send(`${out.reason}\n`);
}

export async function witnessRoutes(app: FastifyInstance, options: WitnessRoutesOptions): Promise<void> {
  const witness = new Witness({
    store: options.store,
    signers: [options.witnessKey, ...(options.extraWitnessKeys ?? [])],
    ...(options.now ? { now: options.now } : {}),
  });
  const bodyLimit = options.bodyLimit ?? DEFAULT_WITNESS_BODY_LIMIT;
  // Operators publish this key so that clients can verify the cosignatures (spec §19.5.4).
  for (const key of [options.witnessKey, ...(options.extraWitnessKeys ?? [])]) {
    app.log.info({ witnessVerifierKey: cosignatureVerifierKeyString(key.name, key.publicKey) }, 'witness: serving add-checkpoint');
  }

  // tlog-witness fixes no request media type, so every one (or none) is read as raw bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, payload, done) => done(null, payload));

  app.post('/add-checkpoint', { bodyLimit }, async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const out = await witness.addCheckpoint(body);
    const source = 'source' in out ? out.source : undefined;
    if ('fork' in out && out.fork !== undefined && source !== undefined) {
      request.log.error(
        { source, kind: out.fork.kind, size: out.fork.size, expectedRoot: out.fork.expectedRoot.toString('hex'), actualRoot: out.fork.actualRoot.toString('hex') },
        'witness: checkpoint conflicts with what the witness holds; fork evidence kept',
      );
      options.onFork?.(source, out.fork);
    }
    if (out.status === 200) {
      options.cosignaturesIssued?.inc({ source: out.source });
      request.log.info({ source: out.source, size: out.checkpoint.size }, 'witness: checkpoint cosigned');
    } else {
      request.log.info({ source, status: out.status, reason: out.reason }, 'witness: checkpoint not cosigned');
    }
    return send(reply, out);
  });

  app.get<{ Params: { source: string } }>(
    '/v1/sources/:source/checkpoint',
    options.checkpointPreHandler ? { preHandler: options.checkpointPreHandler } : {},
    async (request, reply) => {
      const latest = await witness.latest(request.params.source);
      if (latest === undefined) return reply.code(404).type(TEXT).send('no cosigned checkpoint for this source\n');
      return reply.code(200).type(TEXT).header('cache-control', 'no-store').send(latest.note);
    },
  );
}

