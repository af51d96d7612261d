#!/usr/bin/env node
// Entry point for the `kiln` binary. It runs the TypeScript sources through
// tsx so that `npm ci && npx kiln up` works with no build step, and so that a
// stale `dist/` can never shadow the sources.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { register } from 'tsx/esm/api';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
register();
await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
