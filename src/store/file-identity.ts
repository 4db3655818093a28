/** A file's device and inode, to tell whether the file at a path is still the one opened (spec §13.2). */
import fs from 'node:fs';

export interface FileIdentity {
  dev: number;
  ino: number;
}

/** undefined when nothing is at `path`. */
export function fileIdentity(path: string): FileIdentity | undefined {
  try {
    const st = fs.statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

export function sameIdentity(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}
