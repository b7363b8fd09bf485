import { describe, expect, it } from 'vitest';
import { interpolate, InterpolationError } from '../../src/scenario/index.js';

describe('interpolate', () => {
  const env = { TOKEN: 's3cret', EMPTY: '' };
  it('expands ${NAME} from the environment and reports the names read', () => {
    expect(interpolate('Bearer ${TOKEN}', env)).toEqual({ value: 'Bearer s3cret', names: ['TOKEN'] });
  });
  it('uses :- defaults when unset or empty, - defaults only when unset', () => {
    expect(interpolate('${MISSING:-x}/${EMPTY:-y}/${EMPTY-z}', env).value).toBe('x/y/');
  });
  it('keeps $$ as a literal $ and prefers extra values', () => {
    expect(interpolate('$${TOKEN} ${KEELHAUL_RUN_ID}', env, { KEELHAUL_RUN_ID: 'r1' })).toEqual({ value: '${TOKEN} r1', names: [] });
  });
  it('refuses an unset variable without a default, naming it', () => {
    expect(() => interpolate('${NOPE}', env)).toThrow(InterpolationError);
    expect(() => interpolate('${NOPE}', env)).toThrow(/NOPE} is not set/);
  });
  it('refuses a malformed reference', () => {
    expect(() => interpolate('${1BAD}', env)).toThrow(/not a variable reference/);
  });
});
