import { defineConfig } from 'prisma/config';

// The URL is read from process.env directly: Prisma's env() throws when it is unset, which would break
// `prisma generate` on a fresh clone. Generation is offline: see scripts/prisma-generate.ts.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/innkeep' },
});
