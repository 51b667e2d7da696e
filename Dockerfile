# syntax=docker/dockerfile:1
# One image for every role: `msgtrack start | process <name…> | api | generate | topics create | health`.
# Node 24 LTS on Debian bookworm (glibc: chDB's prebuilt library needs it), pinned to an exact tag;
# no platform is pinned, so the same file builds on amd64 and arm64.
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, exactly as locked. The npm package `node` (Node 24 for npm scripts
# on hosts with an older Node) is dropped: the base image is Node 24 already.
RUN npm ci --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/node node_modules/.bin/node \
  && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root src ./src
RUN ln -s /app/bin/msgtrack.js /usr/local/bin/msgtrack \
  && mkdir -p /data && chown node:node /data
# The code is root-owned and read-only to the process; only /data (embedded log, chDB) is writable.
USER node
# No VOLUME here: on Kafka and a ClickHouse server nothing is kept in /data; for the embedded
# defaults mount one (`docker run -v msgtrack-data:/data …`).
EXPOSE 8080
# Asks this instance's own /ready at http://HOST:PORT (the ENV above, or the container's): `start`
# and `api` serve it with the API, `process` alone (with /health and /metrics). The one-shot roles
# (`generate`, `topics`) serve no HTTP and disable it (see docker-compose.yml).
HEALTHCHECK --interval=15s --timeout=6s --start-period=30s --retries=3 \
  CMD ["msgtrack", "health"]
ENTRYPOINT ["msgtrack"]
CMD ["start", "--no-generator"]
