/**
 * Admin commands against a running master: add, remove, skip, unskip,
 * rebuild, status, pause, resume, sync, worker-token.
 */
import type { Command } from 'commander';
import { KilnError } from '../errors.ts';
import { adminCall } from './admin-client.ts';
import { adminTarget } from './common.ts';

/** Connection options every admin command takes. */
export interface AdminFlags {
  config?: string;
  master?: string;
  adminToken?: string;
  dataDir?: string;
  ecosystem?: string;
}

/** Add the admin connection options (and `-e/--ecosystem`, default `defaultEcosystem`) to a command. */
export function withAdmin(cmd: Command, defaultEcosystem = 'npm'): Command {
  return cmd
    .option('--master <url>', 'master URL (default: KILN_MASTER_URL, or the config\'s public_url/listen)')
    .option('--admin-token <token>', 'admin token (default: KILN_ADMIN_TOKEN, the config, or <data dir>/admin-token)')
    .option('-c, --config <file>', 'TOML config file')
    .option('--data-dir <dir>', 'the master\'s data dir, to find its admin token')
    .option('-e, --ecosystem <name>', 'ecosystem of the package', defaultEcosystem);
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Register every admin command on `program`. */
export function registerAdmin(program: Command): void {
  withAdmin(program.command('add').description('track a package (fetches it from its source now)').argument('<names...>'))
    .option('-a, --alias <name>', 'another spelling of the package\'s name, linked to its pages (as piw-add --alias); repeatable; one package only', collect)
    .action(async (names: string[], f: AdminFlags & { alias?: string[] }) => {
      const t = adminTarget(f);
      const aliases = f.alias ?? [];
      if (aliases.length && names.length > 1) throw new KilnError('kiln add --alias names one package', 2);
      for (const name of names) {
        const r = await adminCall<{ added: string; versions: number; queued: number; aliases: string[] }>(t, 'POST', 'packages', { ecosystem: f.ecosystem, name, aliases });
        out(`added ${r.added}: ${r.versions} versions selected, ${r.queued} builds queued`);
        if (aliases.length) out(`aliases of ${r.added}: ${r.aliases.join(', ')}`);
      }
    });

  withAdmin(program.command('remove').description('remove a package, one version, or (--builds) just its builds').argument('<name>').argument('[version]'))
    .option('--builds', 'remove only the builds (they will be queued again)')
    .action(async (name: string, version: string | undefined, f: AdminFlags & { builds?: boolean }) => {
      const q = new URLSearchParams({ ecosystem: f.ecosystem ?? 'npm', name, ...(version ? { version } : {}), ...(f.builds ? { builds: 'true' } : {}) });
      out(JSON.stringify(await adminCall(adminTarget(f), 'DELETE', `packages?${q}`)));
    });

  withAdmin(program.command('skip').description('never build a package or version, with a reason').argument('<name>').argument('[version]'))
    .requiredOption('--reason <text>', 'why (shown on the site and by status --why)')
    .action(async (name: string, version: string | undefined, f: AdminFlags & { reason: string }) => {
      const r = await adminCall<{ skipped: string }>(adminTarget(f), 'POST', 'skip', { ecosystem: f.ecosystem, name, version, reason: f.reason });
      out(`skipped ${r.skipped}: ${f.reason}`);
    });

  withAdmin(program.command('unskip').description('build a skipped package or version again').argument('<name>').argument('[version]'))
    .action(async (name: string, version: string | undefined, f: AdminFlags) => {
      const r = await adminCall<{ unskipped: string; queued: number }>(adminTarget(f), 'POST', 'unskip', { ecosystem: f.ecosystem, name, version });
      out(`unskipped ${r.unskipped}; ${r.queued} builds queued`);
    });

  const SITE_PARTS = ['home', 'search', 'index', 'project'] as const;
  withAdmin(
    program
      .command('rebuild')
      .description('requeue builds of a package (or version), or rewrite part or all of the site')
      .argument('[name]', 'package to requeue, or one of home|search|index|project')
      .argument('[version]', 'version to requeue (with project: the package)')
      .addHelpText(
        'after',
        `
Requeue builds (forget ended builds so they are built again):
  kiln rebuild NAME [VERSION] [--target T] [--failed]

Rewrite part of the site, as piw-rebuild does (no build is requeued):
  kiln rebuild home          the home page and status.json, with everything it writes too
                             (index files, packages page, sitemap)
  kiln rebuild search        the packages page (packages.html), its search data
                             (packages.json) and the sitemap
  kiln rebuild index         the ecosystems' package-wide index files (PEP 503 root...)
  kiln rebuild project PKG   one package's pages and repository files (-e ECOSYSTEM)
  kiln rebuild --site        every page and repository file

home, search, index and project are keywords only as the first argument. To requeue
a package literally named one of them, name it with --package:
  kiln rebuild --package home [VERSION]`,
      ),
  )
    .option('--package <name>', 'the package to requeue (for names that are also keywords); the argument is then the version')
    .option('--target <name>', 'only this target')
    .option('--failed', 'only failed and untestable builds')
    .option('--site', 'rewrite every page and repository file (recovery)')
    .action(async (first: string | undefined, second: string | undefined, f: AdminFlags & { package?: string; target?: string; failed?: boolean; site?: boolean }) => {
      const t = adminTarget(f);
      if (f.site) {
        if (first || f.package) throw new KilnError('kiln rebuild --site takes no package', 2);
        await adminCall(t, 'POST', 'rebuild', { what: 'site' });
        out('site rewritten');
        return;
      }
      let name = first;
      let version = second;
      if (f.package) {
        if (second) throw new KilnError('kiln rebuild --package NAME takes at most one argument, the version', 2);
        name = f.package;
        version = first;
      } else if (first && (SITE_PARTS as readonly string[]).includes(first)) {
        const what = first as (typeof SITE_PARTS)[number];
        if (what === 'project' && !second) throw new KilnError('kiln rebuild project needs a package name', 2);
        if (what !== 'project' && second) throw new KilnError(`kiln rebuild ${what} takes no package (to requeue a package named ${what}: kiln rebuild --package ${what})`, 2);
        const r = await adminCall<{ rebuilt: string }>(t, 'POST', 'rebuild', { what, ecosystem: f.ecosystem, name: second });
        out(`rewrote ${r.rebuilt}`);
        return;
      }
      if (!name) throw new KilnError('kiln rebuild needs a package name, home|search|index|project, or --site', 2);
      const r = await adminCall<{ forgotBuilds: number; queued: number }>(t, 'POST', 'rebuild', { ecosystem: f.ecosystem, name, version, target: f.target, failedOnly: !!f.failed });
      out(`forgot ${r.forgotBuilds} builds; ${r.queued} queued`);
    });

  withAdmin(program.command('status').description('workers, queue and running builds; --why explains one package'))
    .option('--json', 'print JSON')
    .option('--why <package>', 'say why each version of PACKAGE is or is not queued')
    .argument('[version]', 'with --why: only this version')
    .action(async (version: string | undefined, f: AdminFlags & { json?: boolean; why?: string }) => {
      const t = adminTarget(f);
      if (f.why) {
        const q = new URLSearchParams({ why: f.why, ecosystem: f.ecosystem ?? 'npm', ...(version ? { version } : {}) });
        const r = await adminCall<{ why: Array<{ version: string; target: string | null; state: string; reason: string }> }>(t, 'GET', `status?${q}`);
        if (f.json) return out(JSON.stringify(r.why, null, 2));
        // Hundreds of old versions share one reason (the versions policy): say it once with a count.
        const counts = new Map<string, number>();
        for (const l of r.why) counts.set(l.reason, (counts.get(l.reason) ?? 0) + 1);
        const folded = new Set<string>();
        for (const l of r.why) {
          const n = counts.get(l.reason)!;
          if (n > 3 && l.state === 'skipped') {
            if (!folded.has(l.reason)) out(`${f.why}: ${n} versions: ${l.state} — ${l.reason}`);
            folded.add(l.reason);
            continue;
          }
          out(`${f.why} ${l.version}${l.target ? ` on ${l.target}` : ''}: ${l.state} — ${l.reason}`);
        }
        return;
      }
      const s = await adminCall<{
        paused: boolean;
        totals: Record<string, number>;
        queue: Array<{ target: string; queued: number }>;
        workers: Array<{ name: string; targets: string[]; lastSeen: string }>;
        running: Array<{ id: number; package: string; version: string; target: string; worker: string | null }>;
      }>(t, 'GET', 'status');
      if (f.json) return out(JSON.stringify(s, null, 2));
      out(`master ${t.url}${s.paused ? ' (PAUSED: kiln resume)' : ''}`);
      out(`packages ${s.totals.packages}, versions ${s.totals.versions}, passed ${s.totals.builds_passed}, failed ${s.totals.builds_failed}, running ${s.totals.builds_running}, artifacts ${s.totals.artifacts}`);
      out('queue:');
      for (const q of s.queue) out(`  ${q.target}: ${q.queued}`);
      out(`workers online: ${s.workers.length}`);
      for (const w of s.workers) out(`  ${w.name}: ${w.targets.join(', ')} (seen ${w.lastSeen})`);
      if (s.running.length) out('running:');
      for (const r of s.running) out(`  #${r.id} ${r.package} ${r.version} on ${r.target} (${r.worker ?? '?'})`);
    });

  for (const [name, desc] of [['pause', 'stop handing out builds'], ['resume', 'hand out builds again'], ['sync', 'sync every source now']] as const) {
    withAdmin(program.command(name).description(desc)).action(async (f: AdminFlags) => {
      out(JSON.stringify(await adminCall(adminTarget(f), 'POST', name)));
    });
  }

  const tokens = program.command('worker-token').description('manage worker tokens (the master keeps only their sha256)');
  withAdmin(tokens.command('add').description('create a token; it is printed once').argument('<name>')).action(async (name: string, f: AdminFlags) => {
    const r = await adminCall<{ token: string }>(adminTarget(f), 'POST', 'worker-tokens', { name });
    out(r.token);
  });
  withAdmin(tokens.command('list').description('list tokens')).action(async (f: AdminFlags) => {
    const r = await adminCall<{ tokens: Array<{ name: string; created: string; revoked: string | null; lastUsed: string | null }> }>(adminTarget(f), 'GET', 'worker-tokens');
    for (const t of r.tokens) out(`${t.name}\tcreated ${t.created}\t${t.revoked ? `revoked ${t.revoked}` : 'live'}\tlast used ${t.lastUsed ?? 'never'}`);
  });
  withAdmin(tokens.command('revoke').description('revoke a token').argument('<name>')).action(async (name: string, f: AdminFlags) => {
    await adminCall(adminTarget(f), 'DELETE', `worker-tokens?${new URLSearchParams({ name })}`);
    out(`revoked ${name}`);
  });
}
