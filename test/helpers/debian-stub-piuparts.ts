/**
 * A stub piuparts for Kiln's Debian workers in tests: it makes base
 * tarballs and passes or fails chosen packages in well under a second,
 * printing lines the way piuparts prints them. (The test mirror itself is
 * written with writeTestMirror from piuparts-slave.ts.)
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A stub `piuparts`: with `-s FILE` it writes a small tarball there (the
 * base tarball); with `--apt NAME=VERSION` it prints piuparts-like lines,
 * and fails (exit 1, an `ERROR:` line) for the names in `failing`, passes
 * otherwise, ending with piuparts' `piuparts run ends.` line.
 * @returns the script's path.
 */
export async function writeStubPiuparts(dir: string, failing: string[] = []): Promise<string> {
  const path = join(dir, 'stub-piuparts');
  await writeFile(
    path,
    `#!/bin/sh
tarball=""; pkg=""
while [ $# -gt 0 ]; do
  case "$1" in
    -s) tarball="$2"; shift ;;
    --apt) pkg="$2"; shift ;;
  esac
  shift
done
if [ -n "$tarball" ]; then
  tmp=$(mktemp -d); echo base > "$tmp/base"; tar -czf "$tarball" -C "$tmp" base; rm -rf "$tmp"
  echo "0m0.1s INFO: piuparts run ends."; exit 0
fi
name=\${pkg%%=*}
echo "0m0.0s INFO: ------------------------------------------------------------------------------"
echo "0m0.0s INFO: To quickly glance what went wrong, scroll down to the bottom of this logfile."
echo "0m0.1s DEBUG: Starting: apt-get -y install $pkg"
case " ${failing.join(' ')} " in
  *" $name "*)
    echo "0m0.2s ERROR: FAIL: Package purging left files on system:"
    echo "  /etc/$name.conf	 not owned"
    echo "0m0.2s ERROR: piuparts run ends."
    exit 1 ;;
esac
echo "0m0.2s INFO: PASS: All tests."
echo "0m0.2s INFO: piuparts run ends."
exit 0
`,
  );
  await chmod(path, 0o755);
  return path;
}
