# drmaa2-batch-controller image: the controller (default) or, with `emulator`, the local Batch emulator.
# Build stage compiles TypeScript; the final stage holds only dist/ and production dependencies.
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The image's own Node.js is current, so the bundled node binaries (optional dependencies) are not needed.
RUN npm ci --omit=optional
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24.21.0-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional && npm cache clean --force

FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY crds ./crds
USER 10001:10001
EXPOSE 8080 8081
ENTRYPOINT ["node","dist/main.js","controller"]
