import { z } from 'zod';
import { ProductionConfigError } from '../../../../lib/src/production-guard.js';
import { DEVELOPMENT_PMS_CREDENTIALS_KEY } from '../credentials.js';
import { adapterListSchema, type AdapterSpec } from './registry.js';

/** docker-compose passes `${VAR:-}`: an empty value means "not set" (its default applies). */
const unsetWhenEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema);

/** The pms process's connector settings (docs/pms.md); spread into loadPmsConfig. */
export const connectorConfigShape = {
  /** Default base URL of every adapter (the fake vendor serves both styles). */
  PMS_VENDOR_URL: z.url().default('http://127.0.0.1:4010'),
  /** Base URL of the Mews-style / Opera-style API; default PMS_VENDOR_URL. */
  PMS_MEWS_URL: unsetWhenEmpty(z.url().nullable().default(null)),
  PMS_OPERA_URL: unsetWhenEmpty(z.url().nullable().default(null)),
  /** The adapters this process serves and whose queued syncs it drains: `name` or `name=style`. */
  PMS_ADAPTERS: unsetWhenEmpty(adapterListSchema.default([
    { name: 'mews', style: 'mews' },
    { name: 'opera', style: 'opera' },
  ])),
  /** Seals vendor credentials at rest (AES-256-GCM); the development default is refused in production. */
  PMS_CREDENTIALS_KEY: unsetWhenEmpty(z.string().min(32, 'must be at least 32 characters').default(DEVELOPMENT_PMS_CREDENTIALS_KEY)),
  /** Keys that sealed credentials before a rotation (comma-separated): they still open old rows, which are re-sealed on use. */
  PMS_CREDENTIALS_PREVIOUS_KEYS: z
    .string()
    .default('')
    .transform((list) => list.split(',').map((k) => k.trim()).filter(Boolean))
    .pipe(z.array(z.string().min(32, 'each previous key must be at least 32 characters'))),
};

type ConnectorConfig = z.infer<z.ZodObject<typeof connectorConfigShape>>;

/** Each served adapter with its base URL. */
export function adapterSpecs(config: ConnectorConfig): AdapterSpec[] {
  const urlOf = (name: string) => (name === 'mews' ? config.PMS_MEWS_URL : name === 'opera' ? config.PMS_OPERA_URL : undefined) ?? config.PMS_VENDOR_URL;
  return config.PMS_ADAPTERS.map((a) => ({ ...a, baseUrl: urlOf(a.name) }));
}

/** The development credentials key is public (in this repository): production must bring its own. */
export function refuseDevelopmentCredentialsKey<C extends { production: boolean; PMS_CREDENTIALS_KEY: string }>(config: C): C {
  if (config.production && config.PMS_CREDENTIALS_KEY === DEVELOPMENT_PMS_CREDENTIALS_KEY) {
    throw new ProductionConfigError('pms', ['PMS_CREDENTIALS_KEY is the development default: set a random secret of at least 32 characters (docs/pms.md#credentials)']);
  }
  return config;
}
