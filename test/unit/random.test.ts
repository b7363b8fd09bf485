import { describe, expect, it } from 'vitest';
import { createSeededRandom, randomSeed } from '../../src/chaos/random.js';

const draws = (seed: number, n = 20): number[] => {
  const r = createSeededRandom(seed);
  return Array.from({ length: n }, () => r.next());
};

describe('random', () => {
  it('random: the same seed gives the same sequence', () => {
    expect(draws(12345)).toEqual(draws(12345));
  });

  it('random: different seeds give different sequences', () => {
    expect(draws(1)).not.toEqual(draws(2));
    expect(draws(0)).not.toEqual(draws(0xffff_ffff));
  });

  it('random: next() stays in [0, 1)', () => {
    for (const x of draws(7, 1000)) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });

  it('random: int(n) stays in [0, n) and reaches both ends', () => {
    const r = createSeededRandom(99);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const v = r.int(4);
      expect(Number.isInteger(v)).toBe(true);
      seen.add(v);
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });

  it('random: int(n) refuses n that is not a positive integer', () => {
    const r = createSeededRandom(1);
    expect(() => r.int(0)).toThrow(RangeError);
    expect(() => r.int(-2)).toThrow(RangeError);
    expect(() => r.int(1.5)).toThrow(RangeError);
  });

  it('random: a seed outside [0, 2^32) or not an integer is refused', () => {
    expect(() => createSeededRandom(-1)).toThrow(RangeError);
    expect(() => createSeededRandom(2 ** 32)).toThrow(RangeError);
    expect(() => createSeededRandom(1.5)).toThrow(RangeError);
    expect(() => createSeededRandom(Number.NaN)).toThrow(RangeError);
  });

  it('random: the generator reports its seed', () => {
    expect(createSeededRandom(4242).seed).toBe(4242);
  });

  it('random: sample draws distinct items from the input', () => {
    const items = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const picked = createSeededRandom(5).sample(items, 4);
    expect(picked).toHaveLength(4);
    expect(new Set(picked).size).toBe(4);
    for (const p of picked) expect(items).toContain(p);
  });

  it('random: sample does not mutate its input', () => {
    const items = Object.freeze(['a', 'b', 'c', 'd']);
    const copy = [...items];
    createSeededRandom(5).sample(items, 2);
    expect(items).toEqual(copy);
  });

  it('random: sample of count ≥ length returns every item once', () => {
    const items = [1, 2, 3];
    const picked = createSeededRandom(8).sample(items, 10);
    expect([...picked].sort()).toEqual([1, 2, 3]);
  });

  it('random: sample of an empty list or count 0 is empty', () => {
    expect(createSeededRandom(8).sample([], 3)).toEqual([]);
    expect(createSeededRandom(8).sample([1, 2], 0)).toEqual([]);
  });

  it('random: sample with the same seed picks the same items in the same order', () => {
    const items = Array.from({ length: 30 }, (_, i) => i);
    expect(createSeededRandom(77).sample(items, 5)).toEqual(createSeededRandom(77).sample(items, 5));
  });

  it('random: sample is not always the first items (it draws)', () => {
    const items = Array.from({ length: 10 }, (_, i) => i);
    const firsts = new Set(Array.from({ length: 20 }, (_, seed) => createSeededRandom(seed).sample(items, 1)[0]));
    expect(firsts.size).toBeGreaterThan(1);
  });

  it('random: fork with the same label gives the same sequence', () => {
    const a = createSeededRandom(10).fork('fault:kill-1');
    const b = createSeededRandom(10).fork('fault:kill-1');
    expect([a.next(), a.next(), a.next()]).toEqual([b.next(), b.next(), b.next()]);
  });

  it('random: fork does not depend on how much the parent has drawn', () => {
    const parent = createSeededRandom(10);
    const before = parent.fork('x').next();
    parent.next();
    parent.next();
    expect(parent.fork('x').next()).toBe(before);
  });

  it('random: forks with different labels differ', () => {
    const parent = createSeededRandom(10);
    const a = parent.fork('fault:f1');
    const b = parent.fork('fault:f2');
    expect([a.next(), a.next()]).not.toEqual([b.next(), b.next()]);
  });

  it('random: the same fork label under different seeds differs', () => {
    expect(createSeededRandom(1).fork('f').next()).not.toBe(createSeededRandom(2).fork('f').next());
  });

  it('random: randomSeed is an unsigned 32-bit integer a generator accepts', () => {
    const seed = randomSeed();
    expect(Number.isInteger(seed)).toBe(true);
    expect(seed).toBeGreaterThanOrEqual(0);
    expect(seed).toBeLessThanOrEqual(0xffff_ffff);
    expect(() => createSeededRandom(seed)).not.toThrow();
  });
});
