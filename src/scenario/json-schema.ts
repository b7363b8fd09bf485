import { z } from 'zod';
import { scenarioSchema } from './schema.js';

/**
 * The scenario schema as JSON Schema (draft 2020-12), for editor completion and
 * validation outside keelhaul: what a scenario file may say (before defaults). Written to
 * docs/scenario.schema.json by `npm run schema`; a unit test keeps the file current.
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://keelhaul.dev/schemas/scenario.schema.json',
    title: 'keelhaul scenario',
    ...schema,
  };
}
