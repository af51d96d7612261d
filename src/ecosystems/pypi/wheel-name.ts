/**
 * Wheel filenames (PEP 427, "binary distribution format"):
 * `{distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl`.
 * Tags may be compressed sets joined with `.` (`py2.py3`).
 */
import { normalizePypiName, sameVersion } from './names.ts';

/** A parsed wheel filename. */
export interface WheelName {
  filename: string;
  /** The distribution part as written (underscores for `-`). */
  dist: string;
  version: string;
  /** Build tag, or null. Starts with a digit. */
  build: string | null;
  /** Python tags, e.g. `['py2', 'py3']`. */
  python: string[];
  /** ABI tags, e.g. `['cp311']`, `['abi3']`, `['none']`. */
  abi: string[];
  /** Platform tags, e.g. `['linux_x86_64']`, `['any']`. */
  platform: string[];
}

/** The suffix of a PEP 658 core-metadata file served beside its wheel. */
export const METADATA_SUFFIX = '.metadata';

const PART = /^[A-Za-z0-9_.+!]+$/;

/** Parse a wheel filename, or null when it is not one. Pure; never throws. */
export function parseWheelFilename(filename: string): WheelName | null {
  if (!filename.endsWith('.whl') || filename.includes('/') || filename.includes('\\')) return null;
  const parts = filename.slice(0, -4).split('-');
  if (parts.length !== 5 && parts.length !== 6) return null;
  if (!parts.every((p) => p.length > 0 && PART.test(p))) return null;
  const [dist, version] = parts as [string, string];
  const build = parts.length === 6 ? parts[2]! : null;
  if (build !== null && !/^\d/.test(build)) return null;
  const [py, abi, plat] = parts.slice(-3) as [string, string, string];
  const split = (s: string) => s.split('.');
  const python = split(py);
  const abis = split(abi);
  const platform = split(plat);
  if ([...python, ...abis, ...platform].some((t) => !/^[A-Za-z0-9_]+$/.test(t))) return null;
  return { filename, dist, version, build, python, abi: abis, platform };
}

/**
 * Check that a filename is a wheel (or a wheel's `.metadata`) of this
 * project and version.
 * @returns the parsed wheel, or an error message.
 */
export function matchWheel(filename: string, project: string, version: string): WheelName | string {
  const wheelFile = filename.endsWith(METADATA_SUFFIX) ? filename.slice(0, -METADATA_SUFFIX.length) : filename;
  const w = parseWheelFilename(wheelFile);
  if (!w) return `${JSON.stringify(filename)} is not a wheel filename ({dist}-{version}(-{build})?-{python}-{abi}-{platform}.whl) or its .metadata`;
  if (normalizePypiName(w.dist) !== normalizePypiName(project)) {
    return `${JSON.stringify(filename)} is a wheel of ${JSON.stringify(w.dist)}, not ${JSON.stringify(project)}`;
  }
  if (!sameVersion(w.version, version)) return `${JSON.stringify(filename)} is version ${w.version}, not ${version}`;
  return w;
}
