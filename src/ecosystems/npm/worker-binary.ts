/**
 * Looking at built `.node` files: finding them, stripping them, telling
 * N-API from node-ABI binaries by what they import, and pulling the first
 * compiler error out of a build log.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** The `.node` files directly in `dir` (absolute paths, sorted), or [] when it does not exist. */
export async function nodeFilesIn(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const names = await readdir(dir);
  return names.filter((n) => n.endsWith('.node')).sort().map((n) => path.join(dir, n));
}

/** What a binary's undefined dynamic symbols say about it. */
export interface SymbolKind {
  /** 'node' when it needs V8/Node C++ symbols, 'napi' when it needs only N-API ones, 'none' when neither. */
  kind: 'node' | 'napi' | 'none';
  /** A few of the V8/Node symbols, for failure reasons. */
  nodeSymbols: string[];
  napiSymbols: number;
}

/**
 * Classify `nm -D --undefined-only` output. N-API functions are C symbols
 * named `napi_*`/`node_api_*`; V8 and Node internals are C++ (`_ZN2v8…`,
 * `_ZN4node…`), and plain `NODE_MODULE` addons also import
 * `node_module_register`. Pure.
 */
export function classifySymbols(nmOutput: string): SymbolKind {
  const nodeSymbols: string[] = [];
  let napiSymbols = 0;
  for (const line of nmOutput.split('\n')) {
    const sym = line.trim().split(/\s+/).pop() ?? '';
    const bare = sym.replace(/@.*$/, '');
    if (/^(napi_|node_api_)/.test(bare)) napiSymbols++;
    else if (/^_Z\w*?N?K?(2v8|4node)\d/.test(bare) || bare === 'node_module_register') nodeSymbols.push(bare);
  }
  const kind = nodeSymbols.length ? 'node' : napiSymbols ? 'napi' : 'none';
  return { kind, nodeSymbols: nodeSymbols.slice(0, 3), napiSymbols };
}

/**
 * Run `nm -D --undefined-only` on a binary and classify it.
 * @throws Error when nm fails (worker fault: nm is checked before builds).
 */
export async function inspectBinary(nm: string, file: string): Promise<SymbolKind> {
  const { stdout } = await execFileP(nm, ['-D', '--undefined-only', file], { maxBuffer: 64 * 1024 * 1024 });
  return classifySymbols(stdout);
}

/** `strip --strip-unneeded` a binary in place; unstripped addons can be tens of MB. */
export async function stripBinary(strip: string, file: string): Promise<void> {
  await execFileP(strip, ['--strip-unneeded', file]);
}

/**
 * The first compiler or linker error in a build log, for the failure
 * reason: a `…: error: …`/`fatal error:` line, else an `ld` error, else the
 * first `gyp ERR!`/`npm ERR!` line, else cmake-js's own error (`ERROR OMG …`
 * from cmake-js 7+, `ERR! OMG …` from 6). Null when there is none. Pure.
 */
export function firstErrorLine(log: string): string | null {
  const lines = log.split(/\r?\n/);
  const pick = (re: RegExp) => lines.find((l) => re.test(l))?.trim() ?? null;
  const line =
    pick(/(^|\s|:)(fatal )?error:/) ??
    pick(/(undefined reference to|ld(\.\w+)?: cannot find|collect2: error)/) ??
    pick(/CMake Error|error\[E\d+\]/) ??
    pick(/^(gyp|npm) ERR!/) ??
    pick(/^(ERROR|ERR!) OMG /);
  return line ? line.slice(0, 400) : null;
}

/**
 * A tiny Node program that runs a command, copies its output to our stdout
 * (the build log) and to a file, and exits with its code. Lets the build
 * read its own compiler output back, since BuildContext.run only streams.
 */
export const TEE_SCRIPT = `'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const [logFile, cmd, ...args] = process.argv.slice(2);
const out = fs.createWriteStream(logFile);
const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
for (const s of [child.stdout, child.stderr]) s.on('data', (d) => { process.stdout.write(d); out.write(d); });
child.on('error', (e) => { process.stdout.write(String(e) + '\\n'); out.end(() => process.exit(127)); });
child.on('close', (code, sig) => out.end(() => process.exit(code === null ? 128 : code)));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
`;
