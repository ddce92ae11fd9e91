# The image every Ray node on Kubernetes runs (deploy/k8s/rayservice.yaml): Ray's official image
# of the version pyproject.toml pins exactly (Python 3.11), the lock's exact packages, then the app.
# tests/test_k8s_manifest.py checks this tag against the pin.
FROM rayproject/ray:2.60.0-py311

WORKDIR /home/ray/app

# Dependencies first, in their own layer: rebuilt only when the lock changes.
COPY --chown=ray:users requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY --chown=ray:users pyproject.toml README.md alembic.ini serve_config.yaml ./
COPY --chown=ray:users migrations ./migrations
COPY --chown=ray:users kit ./kit
COPY --chown=ray:users models ./models
COPY --chown=ray:users actors ./actors
COPY --chown=ray:users deployments ./deployments
# Editable and without resolving again: the code finds alembic.ini, migrations/ and Serve's HAProxy
# wrapper (deployments/haproxy_edge.sh) beside it, and every package stays at the lock's version.
RUN pip install --no-cache-dir --no-deps -e . && python -c "import deployments.serve_app"

ENV PYTHONPATH=/home/ray/app
