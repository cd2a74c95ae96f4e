# outguard: outbound mail gateway. Build: docker build -t outguard .
# Run:   docker run -p 2525:2525 -p 8025:8025 -v outguard-data:/var/lib/outguard outguard

FROM node:20-slim AS build
# better-sqlite3 is a native module: build tools in case no prebuilt binary matches
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
# `npm ci` runs the prepare script, which compiles src/ into dist/
RUN npm ci --no-audit --no-fund

FROM node:20-slim AS runtime-deps
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# production dependencies only; dist/ comes from the build stage, so the prepare script (tsc) is
# skipped, and the one native module is built on its own
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3 && npm cache clean --force

FROM node:20-slim
ENV NODE_ENV=production \
    TZ=Asia/Tokyo \
    OUTGUARD_SMTP_LISTEN=0.0.0.0:2525 \
    OUTGUARD_WEB_LISTEN=0.0.0.0:8025 \
    OUTGUARD_DATA_DIR=/var/lib/outguard
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY policies ./policies
COPY certs/README.md certs/make-self-signed.sh ./certs/
RUN mkdir -p /var/lib/outguard && chown node:node /var/lib/outguard
VOLUME /var/lib/outguard
USER node
EXPOSE 2525 8025
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8025/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/outguard.js"]
CMD ["start"]
