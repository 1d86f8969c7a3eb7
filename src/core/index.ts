export { ArenaCache, type SharedArenaHandle, type AttachOptions, type SharedOptions } from './arena-cache.js';
export { Status, ABI_VERSION, ENTRY_HEADER, entrySize, type CoreExports } from './abi.js';
export { defaultModule, defaultModuleBytes, type CoreFlavor } from './wasm.js';
export type * from './types.js';
