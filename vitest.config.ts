import { defineConfig } from 'vitest/config';

// Integration tests share one Docker daemon and 2 cores: run files one at a time so that
// timing-sensitive fault tests do not compete with each other for the daemon.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
