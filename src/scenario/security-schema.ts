import { z } from 'zod';

/**
 * The scenario fields that loosen or feed the worker's box: `env`, `redact`, `privileged`,
 * `mounts` and the opt-in `dangerouslyAllow` (docs/security.md). Kept apart from
 * schema.ts so the rules that refuse them live beside their shapes (security.ts).
 */

/** Default secret-name patterns: `*` matches any run of characters, case-insensitive. */
export const DEFAULT_SECRET_NAME_PATTERNS: readonly string[] = ['*_KEY', '*_TOKEN', '*_SECRET', '*PASSWORD*'];

/** An environment variable name as POSIX shells accept it; `KEELHAUL_*` is the contract's and reserved. */
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'expected an environment variable name: letters, digits, _ (not starting with a digit)')
  .refine((n) => !n.toUpperCase().startsWith('KEELHAUL_'), "KEELHAUL_* names are the worker contract's own (docs/worker-contract.md)");

/**
 * `env: { NAME: value }`: passed to every worker container. Values of names matching
 * `redact.names` are secrets: replaced by `[REDACTED:NAME]` wherever keelhaul writes
 * (events.jsonl, state.json, scenario.yaml, attempt logs, reports, terminal).
 */
export const envSchema = z
  .record(
    envName,
    z.string().refine((v) => !v.includes('\0'), 'expected a value without NUL'),
  )
  .default({});

/**
 * `redact: { names: [...] }`: which env names hold secrets. Each entry is a pattern where
 * `*` matches any characters, compared case-insensitively. Replaces the defaults
 * ({@link DEFAULT_SECRET_NAME_PATTERNS}); list them again to keep them.
 */
export const redactSchema = z
  .strictObject({
    names: z.array(z.string().regex(/^[A-Za-z0-9_*]+$/, 'expected a name pattern of letters, digits, _ and * (any characters)')).default([...DEFAULT_SECRET_NAME_PATTERNS]),
    /** Values shorter than this are not redacted (a 1-character "secret" would blank out every log). */
    minLength: z.number().int().min(1).max(64).default(4),
  })
  .default({ names: [...DEFAULT_SECRET_NAME_PATTERNS], minLength: 4 });

/**
 * `mounts: [{ source, target, readOnly }]`: a host path bind-mounted into every worker. The
 * Docker socket (or a directory holding it) is refused unless `dangerouslyAllow.dockerSocket`.
 */
export const bindMountSchema = z.strictObject({
  /** Absolute path on the daemon's host. */
  source: z.string().refine((p) => p.startsWith('/') && !p.includes('\0'), 'expected an absolute host path (starting with /, no NUL)'),
  /** Absolute path in the container; not /, /workspace or /tmp (keelhaul's own mounts). */
  target: z
    .string()
    .refine((p) => p.startsWith('/') && !p.includes('\0') && !p.split('/').includes('..'), 'expected an absolute container path without ..')
    .refine((p) => !['/', '/workspace', '/tmp'].includes(p.replace(/\/+$/, '') || '/'), 'expected a path other than /, /workspace and /tmp (keelhaul mounts those)'),
  /** @default true: a worker writes to its workspace, not to the host. */
  readOnly: z.boolean().default(true),
});
export type BindMount = z.infer<typeof bindMountSchema>;

/**
 * The explicit, loudly named opt-in for what breaks a worker's isolation. Each key allows
 * one thing the scenario asks for elsewhere: `dockerSocket` a mount of the Docker socket
 * (root on the host), `hostNetwork` `network: host`, `privileged` `privileged: true`. A run
 * that uses any of them is reported as UNHARDENED.
 */
export const dangerouslyAllowSchema = z
  .strictObject({
    dockerSocket: z.literal(true, 'expected true (or leave the key out)').optional(),
    hostNetwork: z.literal(true, 'expected true (or leave the key out)').optional(),
    privileged: z.literal(true, 'expected true (or leave the key out)').optional(),
  })
  .default({});
export type DangerouslyAllow = z.infer<typeof dangerouslyAllowSchema>;
