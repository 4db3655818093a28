/**
 * The append-only tree state (spec §11.2): the roots of the perfect subtrees covering [0, n),
 * left to right, one per set bit of n. Appending a leaf completes zero or more perfect subtrees;
 * `append` reports each completed interior node so the storage layer can persist it under
 * (level, index) and later serve any proof with O(log n) reads.
 */
import { nodeHash } from '../crypto/domain.js';
import { InvalidInputError } from '../errors.js';
import { rangeNodes, type NodeId, type TreeNode } from './node-id.js';
import { assertHash, foldSubtreeRoots } from './root.js';
import { MAX_TREE_SIZE, assertTreeSize } from './tree-math.js';

/** The nodes whose hashes make up the compact range of a tree of `size` leaves. */
export function compactRangeIds(size: number): NodeId[] {
  assertTreeSize(size);
  return rangeNodes(0, size);
}

export class CompactRange {
  #size: number;
  /** Perfect subtree roots, left to right (largest first). */
  readonly #roots: Buffer[];

  private constructor(size: number, roots: Buffer[]) {
    this.#size = size;
    this.#roots = roots;
  }

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /**
   * Restores the state of a tree of `size` leaves from the hashes of `compactRangeIds(size)`,
   * in that order (e.g. read back from the node store).
   */
  static fromHashes(size: number, hashes: readonly Uint8Array[]): CompactRange {
    const ids = compactRangeIds(size);
    if (hashes.length !== ids.length) {
      throw new InvalidInputError(
        'INVALID_ARGUMENT',
        `a tree of size ${size} has ${ids.length} compact-range nodes, got ${hashes.length}`,
        { details: { treeSize: size, expected: ids.length, actual: hashes.length } },
      );
    }
    return new CompactRange(
      size,
      hashes.map((h, i) => {
        assertHash(h, `compact-range hash ${i}`);
        return Buffer.from(h);
      }),
    );
  }

  static fromLeaves(leafHashes: readonly Uint8Array[]): CompactRange {
    const range = CompactRange.empty();
    for (const leaf of leafHashes) range.append(leaf);
    return range;
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Appends leaf `size` and returns the interior nodes (level >= 1) it completed, bottom-up.
   * The leaf itself is node (0, size) and is not repeated in the result: it is the event hash,
   * which the caller already stores.
   */
  append(leafHash: Uint8Array): TreeNode[] {
    assertHash(leafHash, 'leaf hash');
    if (this.#size >= MAX_TREE_SIZE) {
      throw new InvalidInputError('INVALID_ARGUMENT', 'tree size limit reached', { details: { treeSize: this.#size } });
    }
    const completed: TreeNode[] = [];
    let hash: Buffer = Buffer.from(leafHash);
    let level = 0;
    let index = this.#size;
    // A right child (odd index) completes its parent; its left sibling is the last root.
    while (index % 2 === 1) {
      const left = this.#roots.pop();
      if (left === undefined) throw new Error('compact range invariant broken: missing left sibling');
      hash = nodeHash(left, hash);
      level++;
      index = (index - 1) / 2;
      completed.push({ level, index, hash });
    }
    this.#roots.push(hash);
    this.#size++;
    return completed;
  }

  /** MTH(D[size]) (RFC 6962 §2.1). */
  root(): Buffer {
    return foldSubtreeRoots(this.#roots);
  }

  /** The compact range as stored nodes, left to right. */
  nodes(): TreeNode[] {
    return compactRangeIds(this.#size).map((id, i) => ({ ...id, hash: Buffer.from(this.#roots[i]!) }));
  }

  clone(): CompactRange {
    return new CompactRange(
      this.#size,
      this.#roots.map((r) => Buffer.from(r)),
    );
  }
}
