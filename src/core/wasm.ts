/**
 * Loading the core module in any JS runtime. By default the bytes inlined at build time are
 * compiled once per process; a host may pass its own bytes, URL, Response or compiled Module.
 */
import { RELEASE_WASM_BASE64, SHARED_WASM_BASE64 } from './wasm-inline.generated.js';
import type { WasmSource } from './types.js';

export type CoreFlavor = 'release' | 'shared';

const compiled: Partial<Record<CoreFlavor, Promise<WebAssembly.Module>>> = {};

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The inlined module of the given flavour, compiled once and reused. */
export function defaultModule(flavor: CoreFlavor): Promise<WebAssembly.Module> {
  let m = compiled[flavor];
  if (!m) {
    const bytes = decodeBase64(flavor === 'release' ? RELEASE_WASM_BASE64 : SHARED_WASM_BASE64);
    m = compiled[flavor] = WebAssembly.compile(bytes);
  }
  return m;
}

/** The inlined module's bytes (for hosts that want to write them out or hash them). */
export function defaultModuleBytes(flavor: CoreFlavor): Uint8Array<ArrayBuffer> {
  return decodeBase64(flavor === 'release' ? RELEASE_WASM_BASE64 : SHARED_WASM_BASE64);
}

/** Compiles a user-supplied source. */
export async function compileSource(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (typeof source === 'string' || source instanceof URL) {
    return WebAssembly.compileStreaming(fetch(source));
  }
  if (typeof Response !== 'undefined' && (source instanceof Response || source instanceof Promise)) {
    const response = await source;
    return WebAssembly.compile(await response.arrayBuffer());
  }
  return WebAssembly.compile(source as BufferSource);
}
