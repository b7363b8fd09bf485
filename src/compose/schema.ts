import { z } from 'zod';
import { byteSize } from '../scenario/index.js';

/**
 * The subset of the Compose specification (https://github.com/compose-spec/compose-spec/blob/master/spec.md)
 * keelhaul launches as a run's topology. Every object is strict: a key outside the subset
 * is refused by name, never ignored (docs/compose.md lists the subset key by key).
 */

/** Service, network and volume names, as Compose allows them. */
export const composeName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'expected a name of letters, digits, _ . - (starting with a letter or digit)');

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** `environment` / `labels`: a mapping, or a list of `KEY=VALUE`. A bare `KEY` (taken from the host) is refused: runs must not depend on the host's environment. */
const keyValues = z.union([
  z.record(z.string().min(1), scalar),
  z.array(z.string().regex(/^[^=\s]+=/, 'expected KEY=VALUE (a bare KEY would take its value from the host, which keelhaul does not do)')),
]);

/** `depends_on`: a list of services, or a mapping with `condition: service_started` (the only condition without healthchecks). */
const dependsOn = z.union([
  z.array(composeName),
  z.record(
    composeName,
    z.strictObject({
      condition: z.literal('service_started', { error: 'only service_started is supported (keelhaul has no healthchecks)' }).optional(),
    }),
  ),
]);

/** `networks` of a service: a list, or a mapping to `null` or `{aliases}`. */
const serviceNetworks = z.union([z.array(composeName), z.record(composeName, z.union([z.null(), z.strictObject({ aliases: z.array(composeName).optional() })]))]);

/** One service: image, entrypoint, command, environment, labels, networks, volumes, network_mode, mem_limit, read_only, cap_drop, user, tmpfs, depends_on, privileged. */
export const composeServiceSchema = z.strictObject({
  /** An image the daemon has (nothing is pulled); `{version}` expands to keelhaul's version. */
  image: z.string().min(1),
  /** Replaces the image's entrypoint (the worker image's is node and the worker); a list, or a string split as `command` is. */
  entrypoint: z.union([z.string().min(1), z.array(z.string())]).optional(),
  /** A list, or a string split as a shell would split words (quotes, no expansion). */
  command: z.union([z.string().min(1), z.array(z.string())]).optional(),
  environment: keyValues.optional(),
  labels: keyValues.optional(),
  networks: serviceNetworks.optional(),
  /** Short syntax `SOURCE:TARGET[:ro|rw]`: a named volume declared under top-level `volumes`, or a host path (`/…`, `./…`) bound. */
  volumes: z.array(z.string().min(1)).optional(),
  /** `none`, `bridge`, or `host` (refused unless `dangerouslyAllow.hostNetwork`). */
  network_mode: z.enum(['none', 'bridge', 'host'], { error: 'expected none, bridge or host (service:… and container:… are not supported)' }).optional(),
  mem_limit: byteSize.optional(),
  read_only: z.boolean().optional(),
  cap_drop: z.array(z.string().min(1)).optional(),
  user: z.union([z.string().min(1), z.number().int().nonnegative()]).optional(),
  /** Paths, each optionally `:size=<bytes|256m>,mode=<octal>`. */
  tmpfs: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
  depends_on: dependsOn.optional(),
  /** Refused unless `dangerouslyAllow.privileged`. */
  privileged: z.boolean().optional(),
});
export type ComposeServiceInput = z.output<typeof composeServiceSchema>;

export const composeNetworkSchema = z.union([
  z.null(),
  z.strictObject({
    /** No route out (as Docker's `Internal`; only as good as the daemon's iptables, DOCKER-NOTES). */
    internal: z.boolean().optional(),
    driver: z.literal('bridge', { error: 'only the bridge driver is supported' }).optional(),
    labels: keyValues.optional(),
  }),
]);

export const composeVolumeSchema = z.union([
  z.null(),
  z.strictObject({
    driver: z.literal('local', { error: 'only the local driver is supported' }).optional(),
    /** Passed to the local driver as they are, e.g. `{type: tmpfs, device: tmpfs, o: size=4m}`. */
    driver_opts: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    labels: keyValues.optional(),
  }),
]);

/** A Compose file's top level. `version` and `name` are accepted and ignored; `x-` extension keys are taken out before validation, as the spec says. */
export const composeFileSchema = z.strictObject({
  version: z.union([z.string(), z.number()]).optional(),
  name: z.string().optional(),
  services: z.record(composeName, composeServiceSchema).refine((s) => Object.keys(s).length > 0, 'expected at least one service'),
  networks: z.record(composeName, composeNetworkSchema).optional(),
  volumes: z.record(composeName, composeVolumeSchema).optional(),
});
export type ComposeFileInput = z.output<typeof composeFileSchema>;

/** The service keys keelhaul supports, for the refusal of any other. */
export const SUPPORTED_SERVICE_KEYS = Object.keys(composeServiceSchema.shape);
/** The top-level keys keelhaul supports (plus `x-*`). */
export const SUPPORTED_TOP_LEVEL_KEYS = Object.keys(composeFileSchema.shape);
