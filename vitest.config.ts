import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no daemon; `docker` runs against a real Docker daemon and
// its global setup fails loudly (never skips) when none answers. Docker test files run
// one at a time: they share one daemon and 2 cores, and fault timing is sensitive to load.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 180_000,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'docker',
          include: ['test/integration/**/*.test.ts', 'test/cli/**/*.test.ts'],
          globalSetup: ['test/setup/docker-global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
