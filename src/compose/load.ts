import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { byteSize, formatPath, isDockerSocketPath as isDockerSocket, locate, locateKey, zodIssueMessage as issueMessage } from '../scenario/index.js';
import { composeFileSchema, SUPPORTED_SERVICE_KEYS, SUPPORTED_TOP_LEVEL_KEYS, type ComposeServiceInput } from './schema.js';

/** One problem in a Compose file: the field's path (`services.api.volumes[0]`) and, when known, its line. */
export interface ComposeIssue {
  readonly field: string;
  readonly message: string;
  /** 1-based line and column in the file. */
  readonly line?: number;
  readonly column?: number;
}

/**
 * A Compose file keelhaul cannot launch: unreadable, not YAML, outside the supported subset
 * (docs/compose.md), or asking for what the scenario did not opt into (`dangerouslyAllow`).
 * Thrown before anything is created; each issue names `file:line:column: field`.
 */
export class ComposeError extends Error {
  override name = 'ComposeError';
  readonly file: string;
  readonly issues: readonly ComposeIssue[];
  constructor(file: string, issues: readonly ComposeIssue[], options: { cause?: unknown } = {}) {
    const lines = issues.map((i) => {
      const where = i.line !== undefined ? `${file}:${i.line}${i.column !== undefined ? `:${i.column}` : ''}` : file;
      return `  ${where}: ${i.field ? `${i.field}: ` : ''}${i.message}`;
    });
    super(`Invalid Compose topology ${file}:\n${lines.join('\n')}`, options);
    this.file = file;
    this.issues = issues;
  }
}

/** What the scenario allows beyond keelhaul's refusals (`dangerouslyAllow`). */
export interface DangerousAllowances {
  readonly dockerSocket?: boolean | undefined;
  readonly hostNetwork?: boolean | undefined;
  readonly privileged?: boolean | undefined;
}

/** A mount of a topology service: a topology volume (by its Compose name), a host path, or a tmpfs. */
export type TopologyMount =
  | { readonly type: 'volume'; readonly source: string; readonly target: string; readonly readOnly: boolean }
  | { readonly type: 'bind'; readonly source: string; readonly target: string; readonly readOnly: boolean }
  | { readonly type: 'tmpfs'; readonly target: string; readonly sizeBytes?: number; readonly mode?: number };

/** One service, normalised: every list a list, every mapping a mapping of strings. */
export interface TopologyService {
  readonly name: string;
  /** As written, `{version}` not yet expanded. */
  readonly image: string;
  readonly entrypoint?: readonly string[];
  readonly command?: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  /** Compose network names with their aliases (the service's name is always one). Empty with `networkMode`. */
  readonly networks: readonly { readonly name: string; readonly aliases: readonly string[] }[];
  readonly networkMode?: 'none' | 'bridge' | 'host';
  readonly mounts: readonly TopologyMount[];
  /** Bytes. */
  readonly memoryBytes?: number;
  readonly readOnly: boolean;
  readonly capDrop: readonly string[];
  readonly user?: string;
  readonly dependsOn: readonly string[];
  readonly privileged: boolean;
}

/** A validated topology: services in start order (dependencies first), the networks and volumes they use. */
export interface ComposeTopology {
  /** Absolute path of the Compose file. */
  readonly file: string;
  readonly services: readonly TopologyService[];
  readonly networks: readonly { readonly name: string; readonly internal: boolean; readonly labels: Readonly<Record<string, string>> }[];
  readonly volumes: readonly { readonly name: string; readonly driverOpts: Readonly<Record<string, string>>; readonly labels: Readonly<Record<string, string>> }[];
}

/** Splits a `command:` string into words as a POSIX shell would for quoting (no expansion). */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  const re = /\s*(?:'([^']*)'|"((?:\\.|[^"\\])*)"|((?:\\.|[^\s'"\\])+))/gy;
  let word: string | undefined;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const leadingSpace = /^\s/.test(m[0]);
    if (leadingSpace && word !== undefined) {
      words.push(word);
      word = undefined;
    }
    const piece = m[1] ?? (m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '').replace(/\\(.)/g, '$1'));
    word = (word ?? '') + piece;
    last = re.lastIndex;
  }
  if (word !== undefined) words.push(word);
  if (text.slice(last).trim() !== '') throw new Error(`unbalanced quote in ${JSON.stringify(text)}`);
  return words;
}

function toStringMap(value: Record<string, unknown> | string[] | undefined): Record<string, string> {
  if (value === undefined) return {};
  if (Array.isArray(value)) {
    return Object.fromEntries(value.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/**
 * Validates a parsed Compose document against the subset and the scenario's allowances.
 *
 * @param file absolute path, named in every issue; bind sources are relative to its folder
 * @throws {ComposeError} naming each bad field with its line
 */
export function validateCompose(input: unknown, file: string, allow: DangerousAllowances = {}, source?: { doc: Document; lineCounter: LineCounter }): ComposeTopology {
  const lineCounter = source?.lineCounter ?? new LineCounter();
  const where = (path: readonly PropertyKey[]): { line?: number; column?: number } => locate(source?.doc, lineCounter, path);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ComposeError(file, [{ field: '', message: 'expected a mapping with services (and networks, volumes)', ...where([]) }]);
  }
  // `x-` keys are extensions the spec tells implementations to ignore.
  const body = Object.fromEntries(Object.entries(input).filter(([k]) => !k.startsWith('x-')));
  const issues: ComposeIssue[] = [];
  const parsed = composeFileSchema.safeParse(body);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        const inService = issue.path.length === 2 && issue.path[0] === 'services';
        for (const key of issue.keys) {
          issues.push({
            field: formatPath([...issue.path, key]),
            message: inService
              ? `unsupported Compose key "${key}"; keelhaul supports: ${SUPPORTED_SERVICE_KEYS.join(', ')}`
              : issue.path.length === 0
                ? `unsupported top-level key "${key}"; keelhaul supports: ${SUPPORTED_TOP_LEVEL_KEYS.join(', ')} and x-* extensions`
                : `unsupported key "${key}"`,
            ...locateKey(source?.doc, lineCounter, issue.path, key),
          });
        }
        continue;
      }
      issues.push({ field: formatPath(issue.path), message: issueMessage(issue, body), ...where(issue.path) });
    }
    throw new ComposeError(file, issues);
  }
  const data = parsed.data;
  const declaredNetworks = data.networks ?? {};
  const declaredVolumes = data.volumes ?? {};
  const services: TopologyService[] = [];
  let needsDefault = false;

  for (const [name, s] of Object.entries(data.services) as [string, ComposeServiceInput][]) {
    const at = (...rest: PropertyKey[]): PropertyKey[] => ['services', name, ...rest];
    const issue = (path: PropertyKey[], message: string): void => {
      issues.push({ field: formatPath(path), message, ...where(path) });
    };
    if (s.privileged && !allow.privileged) {
      issue(
        at('privileged'),
        "privileged: true gives the container every capability and the host's devices; refused unless the scenario sets dangerouslyAllow: { privileged: true }",
      );
    }
    if (s.network_mode === 'host' && !allow.hostNetwork) {
      issue(at('network_mode'), "network_mode: host puts the container in the host's network namespace; refused unless the scenario sets dangerouslyAllow: { hostNetwork: true }");
    }
    if (s.network_mode !== undefined && s.networks !== undefined) issue(at('network_mode'), 'network_mode and networks exclude each other');

    const labels = toStringMap(s.labels);
    for (const key of Object.keys(labels)) {
      if (key.startsWith('dev.keelhaul.') && key !== 'dev.keelhaul.skip') {
        issue(at('labels'), `"${key}" is keelhaul's own label (it sets dev.keelhaul.* itself; only dev.keelhaul.skip may be given)`);
      }
    }

    const words = (key: 'command' | 'entrypoint'): string[] | undefined => {
      const value = s[key];
      if (typeof value !== 'string') return value;
      try {
        return splitCommand(value);
      } catch (error) {
        issue(at(key), (error as Error).message);
        return undefined;
      }
    };
    const command = words('command');
    const entrypoint = words('entrypoint');

    const networks: { name: string; aliases: string[] }[] = [];
    if (s.network_mode === undefined) {
      const entries: [string, { aliases?: string[] | undefined } | null][] = Array.isArray(s.networks) ? s.networks.map((n) => [n, null]) : Object.entries(s.networks ?? {});
      if (entries.length === 0) {
        needsDefault = true;
        networks.push({ name: 'default', aliases: [name] });
      }
      entries.forEach(([net, options]) => {
        if (!(net in declaredNetworks) && net !== 'default') {
          issue(at('networks', Array.isArray(s.networks) ? s.networks.indexOf(net) : net), `network "${net}" is not declared under the top-level networks`);
        }
        if (net === 'default') needsDefault = true;
        networks.push({ name: net, aliases: [name, ...(options?.aliases ?? [])] });
      });
    }

    const mounts: TopologyMount[] = [];
    (s.volumes ?? []).forEach((spec, i) => {
      const parts = spec.split(':');
      if (parts.length < 2 || parts.length > 3 || (parts[2] !== undefined && !['ro', 'rw'].includes(parts[2]))) {
        issue(at('volumes', i), `expected SOURCE:TARGET[:ro|rw], got ${JSON.stringify(spec)} (anonymous volumes and the long syntax are not supported)`);
        return;
      }
      const [src = '', target = '', mode] = parts;
      if (!target.startsWith('/')) {
        issue(at('volumes', i), `the target ${JSON.stringify(target)} must be an absolute path in the container`);
        return;
      }
      const readOnly = mode === 'ro';
      if (src.startsWith('/') || src.startsWith('.') || src.startsWith('~')) {
        if (src.startsWith('~')) {
          issue(at('volumes', i), 'a host path starting with ~ is not supported: write it absolute or relative to the Compose file');
          return;
        }
        const hostPath = isAbsolute(src) ? src : resolve(dirname(file), src);
        if (isDockerSocket(hostPath) && !allow.dockerSocket) {
          issue(
            at('volumes', i),
            `mounts the Docker socket (${hostPath}), which hands the container the whole daemon; refused unless the scenario sets dangerouslyAllow: { dockerSocket: true }`,
          );
          return;
        }
        mounts.push({ type: 'bind', source: hostPath, target, readOnly });
      } else {
        if (!(src in declaredVolumes)) {
          issue(at('volumes', i), `volume "${src}" is not declared under the top-level volumes`);
          return;
        }
        mounts.push({ type: 'volume', source: src, target, readOnly });
      }
    });

    const tmpfsList = s.tmpfs === undefined ? [] : Array.isArray(s.tmpfs) ? s.tmpfs : [s.tmpfs];
    tmpfsList.forEach((entry, i) => {
      const path = Array.isArray(s.tmpfs) ? at('tmpfs', i) : at('tmpfs');
      const [target = '', options] = [entry.slice(0, entry.includes(':') ? entry.indexOf(':') : undefined), entry.includes(':') ? entry.slice(entry.indexOf(':') + 1) : undefined];
      if (!target.startsWith('/')) {
        issue(path, `expected an absolute path, got ${JSON.stringify(target)}`);
        return;
      }
      let sizeBytes: number | undefined;
      let mode: number | undefined;
      for (const option of options ? options.split(',') : []) {
        const [key, value = ''] = option.split('=');
        if (key === 'size') {
          const size = byteSize.safeParse(/^\d+$/.test(value) ? Number(value) : value);
          if (size.success) sizeBytes = size.data;
          else issue(path, `size=${value}: expected bytes or a size such as 64m`);
        } else if (key === 'mode' && /^[0-7]{3,4}$/.test(value)) {
          mode = parseInt(value, 8);
        } else {
          issue(path, `unsupported tmpfs option ${JSON.stringify(option)}; supported: size=, mode= (octal)`);
        }
      }
      mounts.push({ type: 'tmpfs', target, ...(sizeBytes !== undefined ? { sizeBytes } : {}), ...(mode !== undefined ? { mode } : {}) });
    });

    const dependsOn = s.depends_on === undefined ? [] : Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on);
    dependsOn.forEach((dep, i) => {
      if (!(dep in data.services)) issue(at('depends_on', Array.isArray(s.depends_on) ? i : dep), `service "${dep}" is not defined in this file`);
      if (dep === name) issue(at('depends_on'), 'a service cannot depend on itself');
    });

    services.push({
      name,
      image: s.image,
      ...(entrypoint ? { entrypoint } : {}),
      ...(command ? { command } : {}),
      environment: toStringMap(s.environment),
      labels,
      networks,
      ...(s.network_mode !== undefined ? { networkMode: s.network_mode } : {}),
      mounts,
      ...(s.mem_limit !== undefined ? { memoryBytes: s.mem_limit } : {}),
      readOnly: s.read_only ?? false,
      capDrop: s.cap_drop ?? [],
      ...(s.user !== undefined ? { user: String(s.user) } : {}),
      dependsOn,
      privileged: s.privileged ?? false,
    });
  }

  // Start order: dependencies first (Kahn's algorithm, ties in file order); a cycle is refused.
  const ordered: TopologyService[] = [];
  const placed = new Set<string>();
  while (ordered.length < services.length) {
    const next = services.find((s) => !placed.has(s.name) && s.dependsOn.every((d) => placed.has(d) || !services.some((x) => x.name === d)));
    if (!next) {
      const stuck = services.filter((s) => !placed.has(s.name)).map((s) => s.name);
      issues.push({
        field: `services.${stuck[0]}.depends_on`,
        message: `depends_on forms a cycle among ${stuck.join(', ')}`,
        ...where(['services', stuck[0] ?? '', 'depends_on']),
      });
      break;
    }
    placed.add(next.name);
    ordered.push(next);
  }
  if (issues.length > 0) throw new ComposeError(file, issues);

  const networks = Object.entries(declaredNetworks).map(([name, n]) => ({ name, internal: n?.internal ?? false, labels: toStringMap(n?.labels) }));
  if (needsDefault && !networks.some((n) => n.name === 'default')) networks.push({ name: 'default', internal: false, labels: {} });
  const used = new Set(services.flatMap((s) => s.networks.map((n) => n.name)));
  return {
    file,
    services: ordered,
    networks: networks.filter((n) => used.has(n.name) || n.name !== 'default'),
    volumes: Object.entries(declaredVolumes).map(([name, v]) => ({
      name,
      driverOpts: Object.fromEntries(Object.entries(v?.driver_opts ?? {}).map(([k, x]) => [k, String(x)])),
      labels: toStringMap(v?.labels),
    })),
  };
}

/**
 * Reads, parses (yaml) and validates a Compose file.
 *
 * @throws {ComposeError} when it cannot be read, is not YAML, or is not a topology keelhaul launches
 */
export async function loadComposeFile(path: string, allow: DangerousAllowances = {}): Promise<ComposeTopology> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ComposeError(file, [{ field: '', message: `cannot read the Compose file: ${code === 'ENOENT' ? 'no such file' : String(error)}` }], { cause: error });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ComposeError(
      file,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { field: '', message: `not valid YAML: ${e.message.split('\n')[0]}`, line: pos.line, column: pos.col };
      }),
    );
  }
  return validateCompose(doc.toJS(), file, allow, { doc, lineCounter });
}
