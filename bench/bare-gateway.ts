/**
 * The baseline of `npm run bench` (bench/run.ts): a BARE Apollo gateway — `@apollo/gateway` +
 * `@apollo/server` `startStandaloneServer`, nothing else — on the same supergraph and the same subgraph
 * processes as the Innkeep gateway. No authentication, limits, breakers, retries, batching, logging,
 * metrics, CORS or security headers.
 *
 * The one thing it must add: Innkeep's subgraphs refuse any request without an internal token, so every
 * upstream fetch carries one (`willSendRequest`), signed with the internal secret for ONE fixed principal
 * (the benchmark's logged-in user, given by the runner) and cached by the signer (renewed at half its
 * life). That is the minimum any gateway in front of these subgraphs has to do.
 *
 * Configuration (environment, set by bench/run.ts):
 *   BARE_PORT                   port to listen on (127.0.0.1)
 *   BARE_PRINCIPAL              JSON Principal the tokens are signed for
 *   INTERNAL_TOKEN_SECRET       the subgraphs' secret (default: the development secret)
 *   HOTEL_URL, BOOKING_URL, PMS_URL, AUDIT_URL   subgraph endpoints (override the supergraph's URLs)
 *   SUPERGRAPH_FILE             default schema/supergraph.graphql
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import type { Principal } from '../lib/src/identity.js';
import { DEVELOPMENT_INTERNAL_SECRET, InternalTokenSigner } from '../lib/src/internal-token.js';

const port = Number(process.env.BARE_PORT ?? 15120);
const principal = JSON.parse(process.env.BARE_PRINCIPAL ?? 'null') as Principal | null;
if (!principal) throw new Error('BARE_PRINCIPAL (JSON principal) is required');
const signer = new InternalTokenSigner(process.env.INTERNAL_TOKEN_SECRET ?? DEVELOPMENT_INTERNAL_SECRET, 'gateway', 60);
// One correlation ID for the whole process keeps the signer's cache at one token per subgraph.
const correlationId = randomUUID();
const urlOverride: Record<string, string | undefined> = {
  hotel: process.env.HOTEL_URL,
  booking: process.env.BOOKING_URL,
  pms: process.env.PMS_URL,
  audit: process.env.AUDIT_URL,
};

class SignedDataSource extends RemoteGraphQLDataSource {
  constructor(
    private readonly audience: string,
    url: string,
  ) {
    super({ url });
  }

  override async willSendRequest({ request }: Parameters<NonNullable<RemoteGraphQLDataSource['willSendRequest']>>[0]): Promise<void> {
    request.http?.headers.set('authorization', `Bearer ${await signer.sign(principal!, this.audience, correlationId)}`);
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(process.env.SUPERGRAPH_FILE ?? 'schema/supergraph.graphql', 'utf8'),
  // `identity` lives inside the Innkeep gateway; no benchmark query touches it.
  buildService: ({ name, url }) => new SignedDataSource(name, urlOverride[name] ?? url!),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { port, host: '127.0.0.1' } });
console.log(`bare gateway ready at ${url}`);

const stop = () => void server.stop().then(() => process.exit(0), () => process.exit(1));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
