/** Types for fnv-collisions.mjs (plain JS: the bench runs without a TypeScript loader). */
export const FNV_OFFSET: number;
export const FNV_PRIME: number;
export const ALPHABET: string;
export function fnv1a32(s: string, h?: number): number;
export function fnvMulticollision(options?: { stages?: number; prefix?: string; seed?: number }): { keys: string[]; hash: number; stages: number };
export function randomKeysLike(n: number, options: { prefix?: string; length?: number; rand: { u32(): number } }): string[];
