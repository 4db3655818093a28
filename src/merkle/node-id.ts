/**
 * Addresses of perfect subtrees (spec §11.2). Node (level L, index i) is the root of the perfect
 * subtree over leaves [i·2^L, (i+1)·2^L); level 0 nodes are the leaf hashes themselves. A node's
 * hash never changes once its last leaf is appended, which is what makes it storable.
 */
import { pow2 } from './tree-math.js';

export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** A stored node: its address and its 32-byte hash. */
export interface TreeNode extends NodeId {
  readonly hash: Buffer;
}

/** The leaf range [begin, end) covered by a node. */
export function nodeLeafRange(id: NodeId): { begin: number; end: number } {
  const width = pow2(id.level);
  return { begin: id.index * width, end: (id.index + 1) * width };
}

/** A stable string key for maps and SQL `IN` lists: "level/index". */
export function nodeKey(id: NodeId): string {
  return `${id.level}/${id.index}`;
}

/**
 * The perfect subtrees that exactly cover leaves [begin, end), left to right, each as large as
 * alignment allows (the "compact range" of the interval). For begin = 0 the levels are the set
 * bits of `end` from the highest down. Requires 0 <= begin <= end.
 */
export function rangeNodes(begin: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  let pos = begin;
  while (pos < end) {
    let level = 0;
    // Grow while the next larger subtree starting at pos stays aligned and inside the range.
    while (pos % pow2(level + 1) === 0 && pos + pow2(level + 1) <= end) level++;
    out.push({ level, index: pos / pow2(level) });
    pos += pow2(level);
  }
  return out;
}
