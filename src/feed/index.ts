/** The feed's public surface (spec §21), re-exported by src/index.ts. */
export { follow, followRecords } from './follow.js';
export type { FollowOptions, FollowFolderOptions, FeedRecord, FeedCursor } from './follow.js';
export { DEFAULT_POLL_INTERVAL_MS } from './folder-source.js';
export { consumer, Consumer } from './consumer.js';
export type { ConsumerOptions, ConsumeOptions } from './consumer.js';
export type { ConsumerOffset } from './consumer-offsets.js';
export { durableHead, listConsumers, resetConsumer } from './consumer-admin.js';
