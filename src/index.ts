/**
 * sealed-ledger: a signed, append-only audit ledger. The whole public surface is exported here
 * (spec §1.2); test-only helpers live in `sealed-ledger/testing`.
 */

// Errors (spec §9)
export {
  SealedLedgerError,
  InvalidInputError,
  VerificationError,
  KeyError,
  PolicyError,
  ConflictError,
  LedgerStateError,
  ProofError,
  CollectorError,
  isSealedLedgerError,
} from './errors.js';
export type { ErrorCode } from './errors.js';

// Event format (spec §2–§4)
export { canonicalize } from './format/canonical.js';
export type { JsonValue } from './format/canonical.js';
export { DEFAULT_LIMITS, FORMAT_VERSION, GENESIS_PREV, KIND_PATTERN, ID_PATTERN } from './format/event.js';
export type { EventHeader, EventInput, EventLimits, EventSignature, SealedEvent } from './format/event.js';
export { sealEvent, verifyEventSeal, computeEventHash, encodeLine as encodeEventLine } from './format/seal.js';
export { parseEventLine } from './format/event-line.js';
export { signEvent, verifyEventSignature } from './format/signature.js';
export type { EventSigner } from './format/signature.js';
export { eventSignatureMessage, keyIdFor, EVENT_SIGNATURE_CONTEXT } from './crypto/domain.js';

// Cryptography (spec §5, §6)
export { verifyEd25519, signEd25519, publicKeyFromSeed, assertValidPublicKey } from './crypto/ed25519.js';
export { generateSigningKey, signingKeyFromSeed, readSigningKeyFile, writeSigningKeyFile } from './crypto/signing-key.js';
export type { SigningKey } from './crypto/signing-key.js';
export { Keyring } from './crypto/keyring.js';
export type { KeyringEntry, KeyUse } from './crypto/keyring.js';

// Policy gate (spec §12)
export { PARITY_INVARIANT_RULE_ID } from './policy/decision.js';
export type { PolicyDecision, PolicyOutcome, RuleResult } from './policy/decision.js';
export { allowKinds, allowActors, payloadRule, requireSignature } from './policy/rules.js';
export type { Policy, PolicyRule } from './policy/rules.js';

// Ledger (spec §7, §8, §13, §14)
export { Ledger } from './ledger/ledger.js';
export type { LedgerOptions, AppendOptions, EventQuery, LedgerHead } from './ledger/ledger.js';
export type { ProjectionWorkerOptions } from './ledger/projection-thread.js';
export type { ReconcileReport, Inspection } from './ledger/reconcile.js';
export type { Watermark } from './store/watermark.js';
export type { TailDefect } from './ledger/tail-replay.js';
export { appendEvent, appendSignedEvent } from './ledger/append.js';
export { mirrorSingleEventIntoSqlite, mirrorSingleEventIntoSqliteInTx } from './store/mirror.js';
export type { MirrorOutcome, SqliteConnection } from './store/mirror.js';
export { replayJsonlIntoSqlite } from './ledger/replay.js';
export { rebuildProjection } from './ledger/rebuild.js';
export type { RebuildReport } from './ledger/rebuild.js';
export type { ReplayReport, ReplayOptions } from './ledger/replay.js';
export type { StorePaths } from './store/layout.js';
export { verifyEventSetParity } from './audit/parity.js';
export type { EventSetParity, EventMismatch, SeqRange, JsonlDefect } from './audit/parity.js';
export { verifyLedger } from './audit/verify-ledger.js';
export type { VerifyReport, VerifyProblem, VerifyOptions, TrustStatement, ExternalCheckpoint } from './audit/verify-ledger.js';
export { loadTrustedKeys, trustedKeysFromKeyring, trustedKeysFromVerifierKeys } from './audit/trusted-keys.js';
export type { TrustedKeys } from './audit/trusted-keys.js';
export type { LedgerSchema } from './store/schema.js';

// Change feed and durable consumers (spec §21)
export { follow, followRecords, DEFAULT_POLL_INTERVAL_MS } from './feed/index.js';
export type { FollowOptions, FollowFolderOptions, FeedRecord, FeedCursor } from './feed/index.js';
export { consumer, Consumer, listConsumers, resetConsumer } from './feed/index.js';
export type { ConsumerOptions, ConsumeOptions, ConsumerOffset } from './feed/index.js';

// Verifiable log (spec §11, §12)
export { rootFromLeaves } from './merkle/root.js';
export { verifyInclusion, verifyConsistency } from './merkle/verify.js';
export { inclusionProof, consistencyProof } from './merkle/proofs.js';
export type { NodeReader } from './merkle/proofs.js';
export { verifyCheckpoint, signCheckpoint } from './merkle/signed-checkpoint.js';
export { formatCheckpoint, parseCheckpoint } from './merkle/checkpoint.js';
export type { CheckpointBody } from './merkle/checkpoint.js';
export { signNote, verifyNote, parseNote } from './merkle/signed-note.js';
export type { NoteSigner } from './merkle/signed-note.js';
export { verifierKeyString, parseVerifierKey } from './merkle/verifier-key.js';
export type { InclusionProofJson, ConsistencyProofJson, StoredCheckpoint } from './ledger/verifiable-log.js';

// Shipping (spec §20)
export { startShipper, Shipper } from './ship/shipper.js';
export type { ShipperOptions, ShipLogRecord } from './ship/options.js';
export type { WitnessStatus } from './ship/checkpointer.js';
export type { WitnessRecord } from './ledger/witness-log.js';
export type { WitnessFindings } from './audit/witness-check.js';
export type { ShipperStatus, ShipperState, ShipError } from './ship/status.js';
