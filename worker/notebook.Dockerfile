# syntax=docker/dockerfile:1
# The notebook image: JupyterLab with the tslab TypeScript kernel and the `launchbay` client,
# plus the tutorial notebooks and `launchbay-work-archive` (the sandbox's archive container
# runs it: restores the attendee's archived work, saves it when the sandbox ends), on top
# of the worker image (so notebook code runs on the same Node and the same runtime as the
# workers). The operator starts it as
#   jupyter lab --ip=0.0.0.0 --port=8888 --ServerApp.base_url=... --IdentityProvider.token=...
# Build from the repository root, after the worker image:
#   docker build -f worker/notebook.Dockerfile --build-arg WORKER_IMAGE=launchbay/worker -t launchbay/notebook .
ARG NODE_IMAGE=node:24.11.1-bookworm-slim
ARG WORKER_IMAGE=ghcr.io/launchbay/worker:0.1.0

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json tsconfig.base.json ./
COPY protocol/package.json protocol/
COPY scheduler/package.json scheduler/
COPY worker/package.json worker/
COPY client/package.json client/
COPY kube/package.json kube/
COPY archive/package.json archive/
COPY operator/package.json operator/
COPY web/package.json web/
COPY test/package.json test/
RUN npm ci
COPY protocol/ protocol/
COPY scheduler/ scheduler/
COPY worker/ worker/
COPY client/ client/
COPY archive/ archive/
RUN npx tsc -b client archive
RUN rm -rf node_modules */node_modules && npm ci --omit=dev --workspace=launchbay --workspace=@launchbay/archive
# The client and its production dependencies: the protocol, and the scheduler and worker that
# LocalCluster starts (the worker image has only protocol and worker).
RUN mkdir -p /out/app && cp -a package.json node_modules /out/app/ \
 && for ws in protocol scheduler worker client archive; do \
      mkdir -p /out/app/$ws && cp -a $ws/package.json $ws/dist /out/app/$ws/ \
      && for extra in bin node_modules; do \
           if [ -e $ws/$extra ]; then cp -a $ws/$extra /out/app/$ws/; fi; \
         done; \
    done
# tslab type-checks cells with TypeScript's node10 resolution: it needs @types/node (for
# console, Buffer, ...) next to the client (which carries top-level main/types for it).
RUN npm install --prefix /tmp/types --no-audit --no-fund @types/node@24 \
 && cp -a /tmp/types/node_modules/. /out/app/node_modules/

FROM ${WORKER_IMAGE}
USER root
# Python for JupyterLab (Debian's python3 in a venv; pinned as in scripts/requirements.txt).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check jupyterlab==4.6.6
ENV PATH=/opt/venv/bin:$PATH
# Sandbox settings for Jupyter Server (notebook trust off: no notebook is ever signed, so no
# attendee's HTML/JavaScript output runs for whoever opens it); the venv's etc/jupyter is on
# Jupyter's config path, so every `jupyter lab` here loads it.
COPY web/jupyter/jupyter_server_config.py /opt/venv/etc/jupyter/jupyter_server_config.py
# JupyterLab settings it points at (autosave every 30 s), beside it.
COPY web/jupyter/lab-settings /opt/venv/etc/jupyter/lab-settings
# The save bridge's JupyterLab extension it points at (saves every open document when the
# launcher asks, before Download and before the sandbox stops), beside it.
COPY web/jupyter/labextensions /opt/venv/etc/jupyter/labextensions
# The TypeScript kernel, registered with the venv's Jupyter.
RUN npm install -g --no-audit --no-fund tslab@1.0.22 \
 && tslab install --python=/opt/venv/bin/python3 --sys-prefix \
 && npm cache clean --force
COPY --from=build /out/app/ /app/
RUN ln -s /app/archive/bin/launchbay-work-archive.js /usr/local/bin/launchbay-work-archive
# Notebooks live under /app, so `import { Client } from "launchbay"` resolves from
# /app/node_modules; NODE_PATH covers notebooks opened from elsewhere.
COPY --chown=1000:1000 web/notebooks/ /app/notebooks/
ENV NODE_PATH=/app/node_modules HOME=/home/node
WORKDIR /app/notebooks
USER 1000:1000
EXPOSE 8888
ENTRYPOINT ["jupyter", "lab"]
CMD ["--ip=0.0.0.0", "--port=8888", "--no-browser"]
