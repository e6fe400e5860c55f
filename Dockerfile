# syntax=docker/dockerfile:1
# Node 22 LTS: Node 20 reached its end of life in April 2026, and nestjs-pino 5 and file-type 22
# (under @nestjs/common 12) declare Node >= 22. CI and the README commands run on the host's Node (>= 20.19).
FROM node:22-bookworm-slim AS build
WORKDIR /app
# patches/: dependency fixes applied by the postinstall script (patch-package); see README.
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
COPY bench ./bench
RUN npm run build

FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=5000 DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Static admin dashboard served at /dashboard (apps/api/src/app.setup.ts finds it next to dist/).
COPY apps/dashboard/public ./apps/dashboard/public
RUN mkdir -p /data && chown -R node:node /data
USER node
EXPOSE 5000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||5000)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "dist/apps/api/src/main.js"]
