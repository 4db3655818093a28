import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  COSIGNATURE_V1_LENGTH,
  cosignCheckpoint,
  cosignatureKeyHash,
  cosignatureMessage,
  cosignatureTimestamp,
  cosignatureVerifierKeyString,
  cosignatureVerifierOf,
  parseCosignatureVerifierKey,
  verifyCosignatures,
} from '../../src/merkle/cosignature.js';
import { formatCheckpoint } from '../../src/merkle/checkpoint.js';
import { signCheckpoint, verifyCheckpoint } from '../../src/merkle/signed-checkpoint.js';
import { parseNote } from '../../src/merkle/signed-note.js';
import { parseVerifierKey, verifierKeyString } from '../../src/merkle/verifier-key.js';
import { randomSigner, signerFromSeed } from '../merkle/note-keys.js';
import { propertySeed } from './seed.js';
import { c2sp, formats, goVector } from './vectors.js';

const code = (c: string) => expect.objectContaining({ code: c });
const seed = propertySeed('witness/cosignature');

/** A signer from a Go skey of any type byte: PRIVATE+KEY+<name>+<id>+<base64(type || seed)>. */
function signerFromSkey(skey: string) {
  const parts = skey.split('+');
  const key = Buffer.from(parts.slice(4).join('+'), 'base64');
  return signerFromSeed(parts[2]!, key.subarray(1));
}

function decodedLine(line: string): Buffer {
  return Buffer.from(line.trimEnd().split(' ').at(-1)!, 'base64');
}

function flipBit(line: string, byte: number): string {
  const raw = decodedLine(line);
  raw[byte]! ^= 0x01;
  return `${line.slice(0, line.lastIndexOf(' ') + 1)}${raw.toString('base64')}\n`;
}

describe('cosignature/v1: published examples', () => {
  it('builds the signed message of the tlog-cosignature example byte for byte', () => {
    expect(cosignatureMessage(c2sp.cosignatureTime, c2sp.checkpointText).toString('utf8')).toBe(c2sp.signedMessage);
  });

  it('reads the key ID and timestamp of the example cosignature line', () => {
    const { signatures } = parseNote(`${c2sp.checkpointText}\n${c2sp.logSignatureLine}${c2sp.cosignatureLine}`);
    const raw = decodedLine(c2sp.cosignatureLine);
    expect(raw.length).toBe(COSIGNATURE_V1_LENGTH);
    expect(signatures[1]!.keyId).toBe(c2sp.cosignatureKeyId);
    expect(cosignatureTimestamp(raw)).toBe(c2sp.cosignatureTime);
  });

  it('derives the key ID of a native 0x04 verifier key in use (transparency-dev/formats)', () => {
    const v = parseCosignatureVerifierKey(formats.nativeCosignatureVkey);
    expect(v.name).toBe('remora.n621.de');
    expect(v.keyHash.toString('hex')).toBe('da77ade7');
    expect(cosignatureVerifierKeyString(v.name, v.publicKey)).toBe(formats.nativeCosignatureVkey);
  });

  it('keeps 0x01 and 0x04 keys apart: same public key, other key ID', () => {
    expect(() => parseCosignatureVerifierKey(formats.ed25519NoteVkey)).toThrow(code('INVALID_KEY'));
    const note = parseVerifierKey(formats.ed25519NoteVkey);
    const cosig = cosignatureVerifierKeyString(note.name, note.publicKey);
    expect(cosig.split('+')[1]).not.toBe('7997405c');
    expect(() => parseVerifierKey(cosig)).toThrow(code('INVALID_KEY'));
    expect(parseCosignatureVerifierKey(cosig).publicKey.equals(note.publicKey)).toBe(true);
  });

  it('reads the timestamp vector of transparency-dev/formats', () => {
    expect(cosignatureTimestamp(Buffer.from(formats.timestampSignature, 'base64'))).toBe(formats.timestamp);
    expect(() => cosignatureTimestamp(Buffer.alloc(4 + 64))).toThrow(code('INVALID_SIGNATURE'));
  });

  it('verifies and reproduces a complete Go-produced vector byte for byte', () => {
    const witness = signerFromSkey(goVector.witnessSkey);
    const log = signerFromSkey(goVector.logSkey);
    expect(cosignatureVerifierKeyString(witness.name, witness.publicKey)).toBe(goVector.witnessVkey);
    expect(verifierKeyString(log.name, log.publicKey)).toBe(goVector.logVkey);
    expect(cosignCheckpoint(goVector.text, witness, goVector.time)).toBe(goVector.witnessLine);
    const note = `${goVector.text}\n${goVector.logLine}${goVector.witnessLine}`;
    expect(verifyCosignatures(note, [goVector.witnessVkey])).toEqual([
      { name: 'witness.example.com/vector', keyId: '416f103d', timestamp: goVector.time },
    ]);
    // The log's signature verifies with the log key; the cosignature line is ignored there.
    expect(verifyCheckpoint(note, [goVector.logVkey]).size).toBe(1234);
    // A cosignature is not a log signature: alone, it leaves the log key with nothing to verify.
    expect(() => verifyCheckpoint(`${goVector.text}\n${goVector.witnessLine}`, [goVector.logVkey])).toThrow(code('UNKNOWN_KEY'));
  });

  it('rejects the Go vector with any changed timestamp, signature or text', () => {
    for (const byte of [4, 11, 12, 43, 75]) {
      const note = `${goVector.text}\n${goVector.logLine}${flipBit(goVector.witnessLine, byte)}`;
      expect(() => verifyCosignatures(note, [goVector.witnessVkey])).toThrow(code('INVALID_SIGNATURE'));
    }
    const other = goVector.text.replace('1234', '1235');
    expect(() => verifyCosignatures(`${other}\n${goVector.witnessLine}`, [goVector.witnessVkey])).toThrow(code('INVALID_SIGNATURE'));
  });
});

describe('cosignature/v1: signing and strict verification', () => {
  const witness = randomSigner('witness.example/w1');
  const text = formatCheckpoint({ origin: 'example.com/log', size: 5, rootHash: Buffer.alloc(32, 7) });

  it('ignores lines of unknown keys and returns none when the witness did not sign', () => {
    const other = randomSigner('witness.example/w2');
    const line = cosignCheckpoint(text, other, 1);
    expect(verifyCosignatures(`${text}\n${line}`, [cosignatureVerifierOf(witness)])).toEqual([]);
  });

  it('refuses a line of a trusted key with the wrong length', () => {
    const line = cosignCheckpoint(text, witness, 1);
    const raw = decodedLine(line);
    const short = `\u2014 ${witness.name} ${raw.subarray(0, 75).toString('base64')}\n`;
    expect(() => verifyCosignatures(`${text}\n${short}`, [cosignatureVerifierOf(witness)])).toThrow(code('INVALID_SIGNATURE'));
  });

  it('refuses timestamps above 2^63-1 when signing and verifying', () => {
    expect(() => cosignCheckpoint(text, witness, 1n << 63n)).toThrow(code('INVALID_CHECKPOINT'));
    expect(() => cosignCheckpoint(text, witness, -1)).toThrow(code('INVALID_CHECKPOINT'));
    expect(() => cosignCheckpoint(text, witness, 1.5)).toThrow(code('INVALID_CHECKPOINT'));
    const raw = decodedLine(cosignCheckpoint(text, witness, 1));
    raw.writeBigUInt64BE(1n << 63n, 4);
    const line = `\u2014 ${witness.name} ${raw.toString('base64')}\n`;
    expect(() => verifyCosignatures(`${text}\n${line}`, [cosignatureVerifierOf(witness)])).toThrow(code('INVALID_SIGNATURE'));
  });

  it('cosigns only canonical checkpoint text', () => {
    expect(() => cosignCheckpoint('not a checkpoint\n', witness, 1)).toThrow(code('INVALID_CHECKPOINT'));
    expect(() => cosignCheckpoint(text.replace('\n5\n', '\n05\n'), witness, 1)).toThrow(code('INVALID_CHECKPOINT'));
  });

  it('refuses a signer whose signature does not verify, and small-order keys', () => {
    expect(() => cosignCheckpoint(text, { ...witness, sign: () => new Uint8Array(64) }, 1)).toThrow(code('INVALID_KEY'));
    const identity = Buffer.alloc(32);
    identity[0] = 1;
    expect(() => cosignatureVerifierKeyString('w', identity)).toThrow(code('INVALID_KEY'));
    const vkey = `w+${cosignatureKeyHash('w', identity).toString('hex')}+${Buffer.concat([Buffer.of(4), identity]).toString('base64')}`;
    expect(() => parseCosignatureVerifierKey(vkey)).toThrow(code('INVALID_KEY'));
  });

  it('rejects malformed verifier keys', () => {
    const good = cosignatureVerifierOf(witness);
    const s = cosignatureVerifierKeyString(good.name, good.publicKey);
    const [name, id, key] = [s.slice(0, s.indexOf('+')), s.split('+')[1]!, s.slice(s.indexOf('+', s.indexOf('+') + 1) + 1)];
    for (const bad of [
      `${name}+${id}`,
      `${name}+00000000+${key}`,
      `bad name+${id}+${key}`,
      `${name}+${id}+${key.slice(0, -2)}`,
      `${name}+${id.slice(0, 7)}+${key}`,
      `${name}+${id}+${Buffer.concat([Buffer.of(4), good.publicKey, Buffer.of(0)]).toString('base64')}`,
    ]) {
      expect(() => parseCosignatureVerifierKey(bad), bad).toThrow(code('INVALID_KEY'));
    }
  });

  it('round-trips, and any one-bit change of text or line fails (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 0, max: COSIGNATURE_V1_LENGTH * 8 - 1 }),
        (size, root, timestamp, bit) => {
          const body = size === 0 ? undefined : formatCheckpoint({ origin: 'example.com/log', size, rootHash: Buffer.from(root) });
          if (body === undefined) return;
          const line = cosignCheckpoint(body, witness, timestamp);
          const verifier = cosignatureVerifierOf(witness);
          expect(verifyCosignatures(`${body}\n${line}`, [verifier])).toEqual([
            { name: witness.name, keyId: verifier.keyHash.toString('hex'), timestamp },
          ]);
          const raw = decodedLine(line);
          raw[bit >> 3]! ^= 1 << (bit & 7);
          const tampered = `\u2014 ${witness.name} ${raw.toString('base64')}\n`;
          if (bit < 32) {
            // A changed key ID no longer names the trusted key: the line is ignored.
            expect(verifyCosignatures(`${body}\n${tampered}`, [verifier])).toEqual([]);
          } else {
            expect(() => verifyCosignatures(`${body}\n${tampered}`, [verifier])).toThrow(code('INVALID_SIGNATURE'));
          }
          const other = formatCheckpoint({ origin: 'example.com/log', size: size + 1, rootHash: Buffer.from(root) });
          expect(() => verifyCosignatures(`${other}\n${line}`, [verifier])).toThrow(code('INVALID_SIGNATURE'));
        },
      ),
      { numRuns: 200, seed },
    );
  });

  it('covers extension lines', () => {
    const ext = formatCheckpoint({ origin: 'example.com/log', size: 5, rootHash: Buffer.alloc(32, 7), extensions: ['ext 1'] });
    const line = cosignCheckpoint(ext, witness, 9);
    const changed = ext.replace('ext 1', 'ext 2');
    expect(() => verifyCosignatures(`${changed}\n${line}`, [cosignatureVerifierOf(witness)])).toThrow(code('INVALID_SIGNATURE'));
  });

  it('a log-signed note plus a cosignature line verifies both ways', () => {
    const log = randomSigner('example.com/log');
    const signed = signCheckpoint({ origin: 'example.com/log', size: 5, rootHash: Buffer.alloc(32, 7) }, [log]);
    const line = cosignCheckpoint(text, witness, 1700000000);
    const note = signed + line;
    expect(verifyCheckpoint(note, [verifierKeyString(log.name, log.publicKey)]).size).toBe(5);
    expect(verifyCosignatures(note, [cosignatureVerifierOf(witness)])[0]!.timestamp).toBe(1700000000);
  });
});
