# syntax=docker/dockerfile:1
# thinpool-operator: one image, two commands.
#   thinpool-operator   the cluster controller (the chart's Deployment runs it as a non-root user)
#   thinpool-agent      the node agent (`thinpool-agent run` in the DaemonSets the operator creates, privileged,
#                       as root), also a CLI for plain hosts (`thinpool-agent apply -f thinpool.yaml`)
# Build:  docker build -t thinpool-operator:dev .
# Not built in this repository's CI: the development machine has no Docker daemon (see docs/helm.md).

ARG NODE_IMAGE=node:22-bookworm-slim

# 1. Compile TypeScript with the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY api ./api
COPY common ./common
COPY operator ./operator
COPY node-agent ./node-agent
RUN npx tsc -p tsconfig.json

# 2. Production dependencies only, without install scripts.
FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# 3. Runtime: Node 22 slim with the LVM tools the agent runs (lvm2 brings dmsetup and dmeventd;
#    thin-provisioning-tools gives thin_check/thin_repair; util-linux gives losetup, wipefs, lsblk, nsenter).
FROM ${NODE_IMAGE}
RUN apt-get update \
  && apt-get install -y --no-install-recommends lvm2 thin-provisioning-tools util-linux tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/thinpool-operator
COPY --from=production-dependencies /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY crds ./crds
RUN printf '#!/bin/sh\nexec node /opt/thinpool-operator/dist/operator/main.js "$@"\n' > /usr/local/bin/thinpool-operator \
  && printf '#!/bin/sh\nexec node /opt/thinpool-operator/dist/node-agent/main.js "$@"\n' > /usr/local/bin/thinpool-agent \
  && chmod 0755 /usr/local/bin/thinpool-operator /usr/local/bin/thinpool-agent
ENV NODE_ENV=production
# The image's default user stays root because the agent needs it; the chart runs the operator as 65532.
# tini reaps orphans and forwards signals for `docker run`; Kubernetes pods set the command themselves
# and both programs handle SIGTERM on their own.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["thinpool-operator"]
