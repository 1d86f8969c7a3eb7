/** Types for static-server.mjs (plain JS so examples can run it without a TypeScript loader). */
export function startStaticServer(options?: { port?: number; root?: string }): Promise<{ url: string; close(): Promise<void> }>;
