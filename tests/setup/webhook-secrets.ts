/**
 * The PMS webhook secrets of the shared test stack (PMS_WEBHOOK_SECRETS, tests/setup/start-test-env.ts):
 * mews is mid-rotation (current + previous), so tests can prove both are accepted.
 */
export const TEST_WEBHOOK_SECRETS = {
  mews: ['test-mews-webhook-secret-current-0123456789', 'test-mews-webhook-secret-previous-012345678'],
  opera: ['test-opera-webhook-secret-current-012345678'],
} as const;
