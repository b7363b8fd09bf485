import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/**
 * The root of the keelhaul package (the folder holding package.json, images/ and chaos/).
 * Compiled code lives at dist/src/…, source at src/…; both find package.json by walking up.
 */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'keelhaul') return dir;
    } catch {
      // not here; keep walking up
    }
    dir = dirname(dir);
  }
  throw new Error(`keelhaul: cannot find its own package.json above ${fileURLToPath(import.meta.url)}`);
})();

/** keelhaul's version from package.json, e.g. `0.1.0`; stamped on every label set and image tag. */
export const keelhaulVersion: string = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * An image reference as a scenario or Compose file writes it, with `{version}` expanded to
 * keelhaul's version (`keelhaul/worker:{version}` → `keelhaul/worker:0.1.0`).
 */
export function expandImageVersion(image: string, version: string = keelhaulVersion): string {
  return image.replaceAll('{version}', version);
}
