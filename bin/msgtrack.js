#!/usr/bin/env node
// The `msgtrack` command. Needs Node 24 (TypeScript type stripping): run it through `npm run msgtrack --`
// or `npx msgtrack`, which put the project's Node 24 first on PATH.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `msgtrack needs Node.js 24 or newer (this is ${process.version}); run it as \`npx msgtrack\` or \`npm run msgtrack --\`.\n`,
  );
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
