/**
 * The run's seeded random generator. Every random choice a run makes (fault targets,
 * later fault times) draws from one of these, so the same seed and scenario give the same
 * fault plan. mulberry32: 32-bit state, period 2^32, fast and good enough for choosing
 * targets (not for cryptography).
 */
export interface SeededRandom {
  /** The seed it was created with (unsigned 32-bit). */
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). @throws {RangeError} when n is not a positive integer */
  int(n: number): number;
  /** `count` distinct items in drawn order (all of them when count ≥ length). Does not mutate `items`. */
  sample<T>(items: readonly T[], count: number): T[];
  /** A child generator for one purpose (e.g. one fault), so adding a fault does not shift the others' draws. */
  fork(label: string): SeededRandom;
}

/** FNV-1a over UTF-16 code units, 32-bit. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Creates a generator from an unsigned 32-bit seed.
 * @throws {RangeError} when `seed` is not an integer in [0, 2^32)
 */
export function createSeededRandom(seed: number): SeededRandom {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) {
    throw new RangeError(`Expected \`seed\` to be an integer in [0, 4294967295], got \`${seed}\` (${typeof seed})`);
  }
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Expected \`n\` to be a positive integer, got \`${n}\``);
    return Math.floor(next() * n);
  };
  return {
    seed,
    next,
    int,
    sample<T>(items: readonly T[], count: number): T[] {
      const pool = [...items];
      const out: T[] = [];
      while (out.length < count && pool.length > 0) out.push(pool.splice(int(pool.length), 1)[0] as T);
      return out;
    },
    fork(label: string): SeededRandom {
      return createSeededRandom((hash32(label) ^ seed) >>> 0);
    },
  };
}

/** A fresh random seed for a run that names none (printed and stored so the run can be repeated). */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
}
