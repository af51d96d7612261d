/**
 * The tags Kiln keeps on a wheel artifact, whoever built it (a Kiln worker,
 * `kiln import`, a piw-slave): its PEP 427 filename tags, `Requires-Python`
 * and its pip and apt dependencies, as the project page and piwheels'
 * project JSON show them.
 */
import type { CoreMetadata } from './worker-wheel.ts';
import { requiredNames } from './worker-wheel.ts';
import type { WheelName } from './wheel-name.ts';

/** The tags of a wheel artifact. */
export interface WheelTags {
  kind: 'wheel';
  python_tag: string;
  abi_tag: string;
  platform_tag: string;
  build_tag: string | null;
  requires_python: string | null;
  /** `apt`: Debian packages owning the shared libraries it links; `pip`: `Requires-Dist` names without extras. */
  dependencies: { apt: string[]; pip: string[] };
}

/** Tags for a wheel from its parsed filename and METADATA, with the apt dependencies found for it. Pure. */
export function wheelTags(name: WheelName, meta: CoreMetadata, apt: string[]): WheelTags {
  return {
    kind: 'wheel',
    python_tag: name.python.join('.'),
    abi_tag: name.abi.join('.'),
    platform_tag: name.platform.join('.'),
    build_tag: name.build,
    requires_python: meta.get('requires-python')?.[0] || null,
    dependencies: { apt, pip: requiredNames(meta) },
  };
}
