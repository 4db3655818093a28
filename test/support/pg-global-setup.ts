/**
 * vitest globalSetup: one PostgreSQL cluster per test run (test/support/postgres.ts). Test files
 * get its URL with inject('pgUrl') and make a database of their own with createDatabase().
 */
import type { TestProject } from 'vitest/node';
import { clusterForRun, type PgCluster } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

let cluster: PgCluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  cluster = await clusterForRun();
  project.provide('pgUrl', cluster.url);
}

export async function teardown(): Promise<void> {
  cluster?.destroy();
}
