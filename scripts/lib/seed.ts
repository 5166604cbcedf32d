import { v5 as uuidv5 } from 'uuid';
import { hashPassword } from '../../gateway/src/auth/password.js';
import type { PrismaClient } from '../../lib/src/db.js';
import type { Role } from '../../lib/src/identity.js';
import { fromIsoDate } from '../../lib/src/scalars.js';
import { CredentialsCipher, credentialsHint, DEVELOPMENT_PMS_CREDENTIALS_KEY } from '../../subgraphs/pms/src/credentials.js';

/** The fake vendor's Mews-style credentials (its AccessToken is its PMS_VENDOR_TOKEN, 'fake-vendor-token' by default). */
export const DEMO_PMS_CREDENTIALS = { clientToken: 'innkeep-demo-client-token', accessToken: 'fake-vendor-token' };

/**
 * Demo data for development and tests: two hotels with two room types and 12 rooms each, six bookings
 * per hotel (a few for guest@innkeep.test at grand-harbor), PMS connections and sync state, and the demo
 * users (DEMO_USERS). IDs are derived from names, so they are the same on every machine; seeding a hotel
 * or a user that exists does nothing.
 */
const NAMESPACE = '7b0c5a7e-3f4e-4f51-9a53-0a3c1b2d4e5f';
export const seedId = (name: string) => uuidv5(name, NAMESPACE);

interface HotelSeed {
  slug: string;
  name: string;
  timezone: string;
  currency: string;
  address: { addressLine1: string; city: string; postalCode: string; country: string };
  propertyCode: string;
  roomTypes: Array<{ name: string; capacity: number; baseRateMinor: number; floors: number[] }>;
  guests: Array<{ name: string; email: string; phone: string }>;
}

export const DEMO_HOTELS: HotelSeed[] = [
  {
    slug: 'grand-harbor',
    name: 'Grand Harbor Hotel',
    timezone: 'Europe/Lisbon',
    currency: 'EUR',
    address: { addressLine1: 'Avenida da Ribeira 12', city: 'Lisbon', postalCode: '1100-001', country: 'PT' },
    propertyCode: 'GH-001',
    roomTypes: [
      { name: 'Harbor King', capacity: 2, baseRateMinor: 18900, floors: [1, 2] },
      { name: 'Family Suite', capacity: 4, baseRateMinor: 32900, floors: [3] },
    ],
    guests: [
      { name: 'Gwen Guest', email: 'guest@innkeep.test', phone: '+351 910 000 001' },
      { name: 'Ana Sousa', email: 'ana.sousa@example.test', phone: '+351 910 000 002' },
      { name: 'Tom Baker', email: 'tom.baker@example.test', phone: '+44 7700 900001' },
    ],
  },
  {
    slug: 'alpine-lodge',
    name: 'Alpine Lodge',
    timezone: 'Europe/Zurich',
    currency: 'CHF',
    address: { addressLine1: 'Bahnhofstrasse 3', city: 'Zermatt', postalCode: '3920', country: 'CH' },
    propertyCode: 'AL-001',
    roomTypes: [
      { name: 'Mountain Double', capacity: 2, baseRateMinor: 24500, floors: [1, 2] },
      { name: 'Chalet Loft', capacity: 5, baseRateMinor: 41000, floors: [3] },
    ],
    guests: [
      { name: 'Lena Meier', email: 'lena.meier@example.test', phone: '+41 79 000 00 01' },
      { name: 'Marco Rossi', email: 'marco.rossi@example.test', phone: '+39 320 000 0001' },
      { name: 'Gwen Guest', email: 'guest@innkeep.test', phone: '+351 910 000 001' },
    ],
  },
];

/** Logins for development (`npm start` prints them); all share the DEMO_PASSWORD. */
export const DEMO_USERS: Array<{ email: string; name: string; roles: Role[]; hotels: string[] }> = [
  { email: 'admin@innkeep.test', name: 'Ada Admin', roles: ['PLATFORM_ADMIN'], hotels: [] },
  { email: 'manager@grand-harbor.test', name: 'Maria Manager', roles: ['HOTEL_MANAGER'], hotels: ['grand-harbor'] },
  { email: 'frontdesk@grand-harbor.test', name: 'Filipe Frontdesk', roles: ['FRONT_DESK'], hotels: ['grand-harbor'] },
  { email: 'auditor@grand-harbor.test', name: 'Aurora Auditor', roles: ['AUDITOR'], hotels: ['grand-harbor'] },
  { email: 'manager@alpine-lodge.test', name: 'Max Manager', roles: ['HOTEL_MANAGER'], hotels: ['alpine-lodge'] },
  { email: 'frontdesk@alpine-lodge.test', name: 'Fritz Frontdesk', roles: ['FRONT_DESK'], hotels: ['alpine-lodge'] },
  // Same address as the guest with bookings at grand-harbor: GUEST ownership is by email.
  { email: 'guest@innkeep.test', name: 'Gwen Guest', roles: ['GUEST'], hotels: [] },
];
export const DEFAULT_DEMO_PASSWORD = 'innkeep-demo';

/** Creates the demo users that do not exist yet (an existing one, password included, is left alone). */
async function seedDemoUsers(prisma: PrismaClient, password: string): Promise<void> {
  const existing = new Set(
    (await prisma.user.findMany({ where: { email: { in: DEMO_USERS.map((u) => u.email) } }, select: { email: true } })).map((u) => u.email),
  );
  const missing = DEMO_USERS.filter((u) => !existing.has(u.email));
  if (missing.length === 0) return;
  const hashes = await Promise.all(missing.map(() => hashPassword(password))); // own salt each, in parallel
  await prisma.user.createMany({
    data: missing.map((u, i) => ({
      id: seedId(`user:${u.email}`),
      email: u.email,
      name: u.name,
      passwordHash: hashes[i]!,
      roles: u.roles,
      hotelIds: u.hotels.map((slug) => seedId(`hotel:${slug}`)),
    })),
    skipDuplicates: true, // two seeders at once: the second one's rows are simply not inserted
  });
}

const ROOMS_PER_FLOOR = 4;
const addDays = (iso: string, days: number) => new Date(fromIsoDate(iso).getTime() + days * 86_400_000).toISOString().slice(0, 10);

export async function seedDemoData(
  prisma: PrismaClient,
  today = new Date().toISOString().slice(0, 10),
  demoPassword = process.env.DEMO_PASSWORD ?? DEFAULT_DEMO_PASSWORD,
  // Sealed with the key the pms process will open them with (the same default in development).
  pmsCredentialsKey = process.env.PMS_CREDENTIALS_KEY ?? DEVELOPMENT_PMS_CREDENTIALS_KEY,
): Promise<{ seeded: string[] }> {
  const cipher = new CredentialsCipher(pmsCredentialsKey);
  await seedDemoUsers(prisma, demoPassword);
  const seeded: string[] = [];
  for (const h of DEMO_HOTELS) {
    const hotelId = seedId(`hotel:${h.slug}`);
    if (await prisma.hotel.findUnique({ where: { id: hotelId } })) continue;

    const rooms: Array<{ id: string; rate: number }> = [];
    await prisma.$transaction(async (tx) => {
      await tx.hotel.create({ data: { id: hotelId, slug: h.slug, name: h.name, timezone: h.timezone, currency: h.currency, ...h.address } });
      for (const rt of h.roomTypes) {
        const roomTypeId = seedId(`room-type:${h.slug}:${rt.name}`);
        await tx.roomType.create({ data: { id: roomTypeId, hotelId, name: rt.name, capacity: rt.capacity, baseRateMinor: rt.baseRateMinor } });
        for (const floor of rt.floors) {
          for (let n = 1; n <= ROOMS_PER_FLOOR; n++) {
            const number = `${floor}${String(n).padStart(2, '0')}`;
            const id = seedId(`room:${h.slug}:${number}`);
            await tx.room.create({ data: { id, hotelId, roomTypeId, number, floor, status: n === 4 && floor === 2 ? 'DIRTY' : 'CLEAN' } });
            rooms.push({ id, rate: rt.baseRateMinor });
          }
        }
      }
    });

    // Six bookings on six different rooms: two in house, two arriving soon, one later, one cancelled.
    const plan = [
      { offset: -1, nights: 3, status: 'CHECKED_IN' as const },
      { offset: 0, nights: 2, status: 'CHECKED_IN' as const },
      { offset: 1, nights: 2, status: 'CONFIRMED' as const },
      { offset: 2, nights: 4, status: 'CONFIRMED' as const },
      { offset: 7, nights: 3, status: 'CONFIRMED' as const },
      { offset: 3, nights: 1, status: 'CANCELLED' as const },
    ];
    await prisma.$transaction(async (tx) => {
      for (const [i, p] of plan.entries()) {
        const g = h.guests[i % h.guests.length]!;
        const guest = await tx.guest.upsert({ where: { email: g.email }, create: { id: seedId(`guest:${g.email}`), ...g }, update: {} });
        const room = rooms[i * 2]!;
        const checkIn = addDays(today, p.offset);
        await tx.booking.create({
          data: {
            id: seedId(`booking:${h.slug}:${i}`),
            reference: `IK-${h.slug === 'grand-harbor' ? 'GH' : 'AL'}${String(1000 + i)}`,
            hotelId,
            roomId: room.id,
            guestId: guest.id,
            status: p.status,
            checkIn: fromIsoDate(checkIn),
            checkOut: fromIsoDate(addDays(checkIn, p.nights)),
            guests: 1,
            totalMinor: room.rate * p.nights,
            currency: h.currency,
            ...(p.status === 'CANCELLED' ? { cancelReason: 'Guest changed plans' } : {}),
          },
        });
      }
    });

    await prisma.pmsConnection.create({
      data: {
        hotelId,
        vendor: 'mews',
        propertyCode: h.propertyCode,
        status: 'ACTIVE',
        lastSyncAt: new Date(),
        credentialsCiphertext: cipher.seal(DEMO_PMS_CREDENTIALS, hotelId),
        credentialsHint: credentialsHint(DEMO_PMS_CREDENTIALS),
      },
    });
    await prisma.pmsReservation.createMany({
      data: plan.map((_, i) => ({
        bookingId: seedId(`booking:${h.slug}:${i}`),
        hotelId,
        externalId: `FPMS-${h.propertyCode}-${100 + i}`,
        syncStatus: 'SYNCED' as const,
        syncedAt: new Date(),
      })),
    });
    seeded.push(h.slug);
  }
  return { seeded };
}
