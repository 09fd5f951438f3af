import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.spec.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Two cores: integration tests that start brokers/servers must not fight each other.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
