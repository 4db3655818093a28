/** Types of library.mjs. A library is the package exports (src or dist), JsonlFile and verifyDefaults. */
export type Library = Record<string, any>;
export declare const DIST: string;
export declare function loadDistLibrary(dist?: string): Promise<Library>;
export declare function snapshotDist(): string;
