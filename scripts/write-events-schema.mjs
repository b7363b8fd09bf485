// Writes docs/events.schema.json from the zod run-event schema (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { eventsJsonSchema } from '../dist/src/events/index.js';

writeFileSync(new URL('../docs/events.schema.json', import.meta.url), `${JSON.stringify(eventsJsonSchema(), null, 2)}\n`);
console.log('wrote docs/events.schema.json');
