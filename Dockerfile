# feedmatch in a container: `docker build -t feedmatch .` then
#   docker run -p 9999:9999 feedmatch                      (demo feeds, detections on stdout)
#   docker run -p 9999:9999 -v /etc/feedmatch:/etc/feedmatch feedmatch serve -c /etc/feedmatch/feedmatch.yaml
# The build stage compiles re2 (a native addon) and the TypeScript; the runtime stage holds only
# the compiled code and production dependencies, and runs as the unprivileged `node` user.

FROM node:20-bookworm-slim AS build
WORKDIR /src
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
# npm ci builds re2 from source and, through the `prepare` script, the TypeScript into dist/.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
COPY fixtures ./fixtures

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/feedmatch
COPY --from=build --chown=node:node /src/node_modules ./node_modules
COPY --from=build --chown=node:node /src/dist ./dist
COPY --from=build --chown=node:node /src/fixtures ./fixtures
COPY --from=build --chown=node:node /src/package.json ./package.json
COPY --chown=node:node fixtures/config/docker.yaml /etc/feedmatch/feedmatch.yaml
USER node
EXPOSE 9999 9998
# The API listens on loopback inside the container (docker.yaml); the check runs there too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9998/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve", "-c", "/etc/feedmatch/feedmatch.yaml"]
