export {
  ArenaCache, SnapshotError, type SharedArenaHandle, type AttachOptions, type SharedOptions, type SnapshotLoadResult, type SnapshotInfo,
} from './arena-cache.js';
export { Status, ABI_VERSION, POLICIES, entryCost, entryHeaderOf, type CoreExports, type PolicyName } from './abi.js';
export { defaultModule, defaultModuleBytes, type CoreFlavor } from './wasm.js';
export type * from './types.js';
