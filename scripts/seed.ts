/** `npm run db:seed`: loads the demo data into DATABASE_URL (development only; idempotent). */
import { createDatabase } from '../lib/src/db.js';
import { seedDemoData } from './lib/seed.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set (npm start seeds its embedded database by itself).');
  process.exit(1);
}
if (process.env.NODE_ENV === 'production') {
  console.error('Refusing to load demo data with NODE_ENV=production.');
  process.exit(1);
}
const db = createDatabase({ url, poolSize: 2, acquireTimeoutMs: 5000, applicationName: 'innkeep-seed' });
try {
  const { seeded } = await seedDemoData(db.prisma);
  console.log(seeded.length ? `Seeded demo hotels: ${seeded.join(', ')}` : 'Demo data already present.');
} finally {
  await db.close();
}
