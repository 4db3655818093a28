import { CompactRange } from '../../src/merkle/compact-range.js';
import type { TreeNode } from '../../src/merkle/node-id.js';

/** Every node a writer stores for these leaves: each leaf and the nodes its append completes. */
export function storedNodes(leaves: readonly Buffer[]): TreeNode[] {
  const range = CompactRange.empty();
  const nodes: TreeNode[] = [];
  leaves.forEach((leaf, index) => {
    nodes.push({ level: 0, index, hash: leaf });
    nodes.push(...range.append(leaf));
  });
  return nodes;
}
