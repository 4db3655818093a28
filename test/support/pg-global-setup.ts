/**
 * vitest globalSetup: one PostgreSQL cluster per test project (test/support/postgres.ts). Test
 * files get its URL with inject('pgUrl') and make a database of their own with createDatabase().
 */
import type { TestProject } from 'vitest/node';
import { clusterForRun } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const cluster = await clusterForRun();
  project.provide('pgUrl', cluster.url);
  return () => cluster.destroy();
}
