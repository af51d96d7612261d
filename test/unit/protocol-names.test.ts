import { describe, expect, it } from 'vitest';
import { unsafeFilenameReason } from '../../src/protocol/messages.ts';

describe('artifact file names', () => {
  it('accepts ordinary artifact names', () => {
    for (const n of ['better-sqlite3-v12.4.1-node-v115-linux-x64.tar.gz', 'bcrypt_lib-v5.1.1-napi-v3-linux-x64-glibc.tar.gz', 'pkg-1.0+local.whl', 'a@b.tgz']) {
      expect(unsafeFilenameReason(n), n).toBeNull();
    }
  });
  it('refuses path tricks and odd characters', () => {
    for (const n of ['../x', '..', '.', 'a/b', 'a\\b', '.hidden', '', 'a b', 'x\u0000', 'é.tgz', 'x'.repeat(256)]) {
      expect(unsafeFilenameReason(n), JSON.stringify(n)).not.toBeNull();
    }
  });
});
