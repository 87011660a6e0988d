# syntax=docker/dockerfile:1

# --- build: compiles TypeScript, renders the docs and builds the sqlite3 native module -----------------
# Node 26, the Active LTS line since October 2026; the code and tests also run on Node 20 (>= 20.17).
FROM node:26-bookworm-slim AS build
WORKDIR /app
# node-gyp needs these when sqlite3 has no prebuilt binary for the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json tsconfig.client.json openapi.yaml asyncapi.yaml ./
COPY docs ./docs
COPY scripts ./scripts
COPY src ./src
# Then drop the dev dependencies, keeping the compiled sqlite3 binary.
RUN npm run build && npm prune --omit=dev

# --- runtime: production dependencies and the build only, as a non-root user -------------------------
FROM node:26-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    UPLOAD_DIR=/uploads
WORKDIR /app
# tini runs as PID 1: it forwards SIGTERM to node and reaps zombies, so shutdown is graceful.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data /uploads \
 && chown node:node /data /uploads
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json openapi.yaml asyncapi.yaml ./
USER node
VOLUME ["/data", "/uploads"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/shell/main.js"]
# The build holds the other command an operator needs, the copy of a SQLite database into PostgreSQL
# (docs/deploy.md): docker compose run --rm sala node dist/src/shell/migrate-sqlite-to-postgres.js --from /data/sala.db
