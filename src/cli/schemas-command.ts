import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { topicJsonSchemas } from '../events/index.ts';
import type { Command } from './command.ts';

/** `msgtrack schemas`: write the JSON Schema of every topic's payload (one file per topic). */
export const schemasCommand: Command = {
  name: 'schemas',
  summary: 'Write the JSON Schema (draft 2020-12) of every topic payload, one <topic>.schema.json per topic.',
  options: {
    out: { type: 'string', short: 'o', description: 'Directory to write to', default: 'schemas' },
  },
  async run(args) {
    const dir = resolve(String(args.values.out));
    await mkdir(dir, { recursive: true });
    for (const [topic, schema] of Object.entries(topicJsonSchemas())) {
      const file = join(dir, `${topic}.schema.json`);
      await writeFile(file, `${JSON.stringify(schema, null, 2)}\n`);
      process.stdout.write(`${file}\n`);
    }
    return 0;
  },
};
