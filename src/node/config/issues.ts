/**
 * zod issues → one message per problem, naming the setting as the user wrote it: the flag
 * (`--http-port`), the variable (`ARENACACHE_HTTP_PORT`) or the key in the config file
 * (`config file ./node.yaml: http.port`).
 */
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

export interface Problem {
  path: PropertyKey[];
  message: string;
  /** The offending value (parsed with reportInput). */
  input?: unknown;
}

/** Flatten unions to the branch the input was meant for (its type matched), and name unknown keys. */
export function problemsOf(issues: readonly Issue[], base: PropertyKey[] = []): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const meant = issue.errors.filter((branch) => !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0));
      const pick = meant.find((b) => b.some((i) => i.path.length > 0)) ?? meant[0];
      if (pick) {
        out.push(...problemsOf(pick, path));
        continue;
      }
    }
    if (issue.code === 'unrecognized_keys' && issue.keys.length === 1) {
      out.push({ path: [...path, issue.keys[0]!], message: issue.message });
      continue;
    }
    out.push({ path, message: issue.message, input: issue.input });
  }
  return out;
}

/** `groups[0].origin.url` */
export function pathText(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? String(p) : `.${String(p)}`;
  return s;
}
