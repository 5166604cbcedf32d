# One image for every Innkeep process: the gateway, the four subgraphs, the migration job and the fake
# PMS vendor. docker-compose.yml picks the entry point per service, e.g.
#   node dist/services/hotel.mjs
# The services run as JavaScript compiled by `npm run build` (scripts/lib/build.ts: one bundle of our own
# code per service, packages stay in node_modules), exactly as `npm start` and the tests run them, so what
# runs in the container is what was tested. The migration job and the scripts still run through tsx.
# Health checks are set per service in docker-compose.yml (each service listens on its own port).
#
#   docker build -t innkeep:local .

ARG NODE_IMAGE=node:20-bookworm-slim

# ───────────── build: install dependencies, generate the Prisma client ─────────────
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# No NODE_ENV=production here: it would make npm skip the dev dependencies, and the Prisma CLI (a dev
# dependency) is what generates the client. No update / telemetry pings: they only add timeouts offline.
ENV CHECKPOINT_DISABLE=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false

# What the install and its postinstall (`tsx scripts/prisma-generate.ts`, offline, then
# `tsx scripts/build-dashboard.ts`, which skips here: the dashboard sources come later) need, and nothing
# else: this layer stays cached until the lockfile or the Prisma schema changes.
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts/prisma-generate.ts scripts/build-dashboard.ts ./scripts/

# `npm ci` first. The lockfile is made where the registry answers 404 for other platforms' optional
# packages (@swc/core-darwin-*, @unrs/resolver-binding-*, …), and `npm ci` refuses such a lockfile as
# "not in sync" ("Missing: @swc/core-darwin-arm64@ from lock file"); `npm install` then resolves the same
# versions from it and installs this platform's packages.
RUN npm ci --no-audit --no-fund \
    || { echo 'npm ci refused package-lock.json: falling back to npm install' >&2; \
         npm install --no-audit --no-fund; } \
    && test -f generated/prisma/client.ts

COPY . .
# The operations dashboard (/dashboard) is static files built by Vite, a dev dependency: build it before
# the prune. .dockerignore keeps any local dashboard/dist out, so the image always has a fresh build.
RUN npm run build:dashboard && test -f dashboard/dist/index.html
# The six services as plain JavaScript (esbuild, a dev dependency): no tsx hooks at run time, 20–100 MB
# less RSS for the gateway under load (docs/performance.md "Memory").
RUN npm run build && test -f dist/services/gateway.mjs
# The runtime needs no dev dependency (tsx for the migration job and scripts, the Prisma client runtime and
# the pg adapter are regular dependencies); generated/prisma and dist/ stay, pruning does not touch them.
RUN npm prune --omit=dev --no-audit --no-fund

# ───────────── runtime ─────────────
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    CHECKPOINT_DISABLE=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
# Owned by root, read-only for the service user: a compromised process cannot rewrite the code it runs.
# (tsx, for the migration job, keeps its compile cache in the OS temp folder, which stays writable.)
COPY --from=build /app /app
USER node
# gateway, hotel, booking, pms, audit, fake PMS vendor (GUIDE §3); each is overridable by <NAME>_PORT.
EXPOSE 4000 4001 4002 4003 4004 4010
# The gateway's old space is capped (scripts/lib/stack.ts SERVICE_NODE_ARGS, docs/performance.md "Memory").
CMD ["node", "--max-old-space-size=256", "--max-semi-space-size=8", "dist/services/gateway.mjs"]
