/**
 * Two projects: `unit` runs on the host (pure logic, the API emulator, the operator over HTTP);
 * `vm` runs suites whose every LVM command executes inside a real Debian kernel (test/vm/).
 * @type {import('jest').Config}
 */
const common = {
  testEnvironment: 'node',
  // Jest 30's default "soft" cleanup wraps globals left by a test file in accessors whose setter calls
  // itself when the property had none: a later set overflowed the stack ("Test suite failed to run:
  // Maximum call stack size exceeded" in emitAccessWarning). Each file gets a fresh context anyway.
  testEnvironmentOptions: { globalsCleanup: 'off' },
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.tsx?$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }] },
};

export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.vm\\.test\\.ts$'],
    },
    {
      ...common,
      displayName: 'vm',
      testMatch: ['<rootDir>/test/**/*.vm.test.ts'],
      globalSetup: '<rootDir>/test/vm/jest-global-setup.ts',
      globalTeardown: '<rootDir>/test/vm/jest-global-teardown.ts',
    },
  ],
};
