/** The config file's JSON Schema (`arenacache serve --print-config-schema`), for editors and linters. */
import { z } from 'zod';
import { nodeSchema } from './schema.js';

export function configJsonSchema(version: string): Record<string, unknown> {
  const schema = z.toJSONSchema(nodeSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    title: 'arenacache node configuration',
    description: 'The config file of `arenacache serve --config FILE` (JSON or YAML). Flags and ARENACACHE_* variables override it.',
    ...schema,
  };
}
