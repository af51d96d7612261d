import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** A new random token: 32 bytes, base64url (43 characters). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** sha256 of a token, hex. The master stores only this. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Compare two secrets in constant time. */
export function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * The admin token: the configured one, or one generated on first start and
 * kept (mode 0600) in `file` so that admin commands on the same machine find it.
 */
export function loadOrCreateAdminToken(configured: string | undefined, file: string): string {
  if (configured) return configured;
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const token = generateToken();
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}
