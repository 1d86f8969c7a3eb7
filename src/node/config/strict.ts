/** Objects that reject unknown keys, naming the key and the nearest valid one. */
import { z } from 'zod';
import { unknownKeyMessage } from './names.js';

export function strict<T extends z.ZodRawShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return iss.keys.map((k) => unknownKeyMessage(k, known)).join('; ');
      if (iss.code === 'invalid_type') return 'expected an object';
      return undefined;
    },
  });
}
