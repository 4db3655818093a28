/** Loads the published vectors under test/vectors (see the README.md next to each file). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function load<T>(relative: string): T {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`../vectors/${relative}`, import.meta.url)), 'utf8')) as T;
}

type IdList = [number, number][];
export interface NodeIdCase {
  size?: number;
  index?: number;
  size1?: number;
  size2?: number;
  ids: IdList;
  rehash?: [number, number];
}

export interface Rfc6962Vectors {
  leafInputsHex: string[];
  nodeHashes: string[][];
  rootsBySize: string[];
  hasher: {
    emptyRoot: string;
    leaves: { inputAscii: string; hash: string }[];
    nodes: { leftAscii: string; rightAscii: string; hash: string }[];
  };
  inclusionProofs: { index: number; treeSize: number; proof: string[] }[];
  consistencyProofs: { size1: number; size2: number; proof: string[] }[];
  inclusionNodeIds: { cases: NodeIdCase[] };
  consistencyNodeIds: { cases: NodeIdCase[] };
}

export const rfc6962 = load<Rfc6962Vectors>('rfc6962/transparency-dev-merkle.json');

export interface SignedNoteVectors {
  goSumdbNote: {
    peterVerifierKey: string;
    peterSignerKey: string;
    enochVerifierKey: string;
    text: string;
    peterSignatureLine: string;
    enochSignatureLine: string;
    signedNote: string;
    badVerifierKeys: string[];
  };
  sumdbCheckpoint: {
    logVerifierKey: string;
    note: string;
    origin: string;
    size: number;
    rootHashBase64: string;
    cosignerVerifierKeys: string[];
    cosignatureLines: string[];
    unknownSignatureLines: string[];
  };
  c2spExamples: {
    signedNote: string;
    signedNoteText: string;
    checkpoint: string;
    checkpointOrigin: string;
    checkpointSize: number;
    checkpointRootHashBase64: string;
  };
  transparencyDevCheckpointBodies: { invalid: string[] };
}

export const signedNotes = load<SignedNoteVectors>('signed-note/vectors.json');

/**
 * transparency-dev node-id lists as proof entries: ids outside the rehash range are one entry
 * each; ids inside it (lowest level first) become one entry listed left to right.
 */
export function nodeIdEntries(c: NodeIdCase): { level: number; index: number }[][] {
  const ids = c.ids.map(([level, index]) => ({ level, index }));
  if (c.rehash === undefined) return ids.map((id) => [id]);
  const [begin, end] = c.rehash;
  return [
    ...ids.slice(0, begin).map((id) => [id]),
    ids.slice(begin, end).reverse(),
    ...ids.slice(end).map((id) => [id]),
  ];
}

export const hex = (s: string): Buffer => Buffer.from(s, 'hex');
