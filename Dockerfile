# syntax=docker/dockerfile:1
# arenacache node image: build the wasm core and the TypeScript in one stage, run as a non-root
# user from a slim stage with production dependencies only.
#   docker build -t arenacache:0.1.0 .
#   docker run --rm -p 7080:7080 arenacache:0.1.0
# Alone it serves HTTP on all interfaces and peer gRPC on loopback; a cluster binds gRPC to a
# reachable address and authenticates peers (--grpc-host, --cluster-secret-file or mutual TLS).

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: nothing is downloaded at install time (the dev tools used here need none).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY asconfig.json tsconfig.json ./
COPY assembly ./assembly
COPY scripts/inline-wasm.mjs ./scripts/inline-wasm.mjs
COPY proto ./proto
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/arenacache.wasm /src/build/arenacache.shared.wasm ./build/
COPY --from=build /src/proto ./proto
# The node image's unprivileged user (uid 1000).
USER node
# 7080: the HTTP API; 7070: peer gRPC (on loopback unless --grpc-host says otherwise).
EXPOSE 7070 7080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:7080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/node/cli.js"]
CMD ["serve", "--http-host=0.0.0.0"]
