# syntax=docker/dockerfile:1
#
# The welcome service in a container: Debian's python3, the project in a
# virtual environment, run as an unprivileged user, logging to stdout.
#
#   docker build -t welcome-protocol .
#   docker run -p 12000:12000 -p 9112:9112 welcome-protocol
#
# The same image runs the probe exporter (docs/exporter.md) with another
# entry point:
#
#   docker run -p 9115:9115 --entrypoint twistd welcome-protocol \
#       --nodaemon --pidfile= --logfile=- welcome-exporter --listen tcp:9115
#
# Behind a TLS-inspecting proxy (or wherever pip does not trust the index's
# certificate), hand the build the trust bundle as the optional secret "ca":
#
#   docker build --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt .
#
# With podman, build with --format docker: the OCI format has no HEALTHCHECK.

# ---- build: the virtual environment, with pip and the build tools ----------
FROM debian:bookworm-slim AS build

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*

COPY . /src
# Twisted caches its plugin scan (dropin.cache) beside the dropins: made here,
# it need not (and, on a read-only root filesystem, could not) be written at
# run time.
# PIP_CERT only when the "ca" secret was given: without it pip uses its own
# trusted authorities, as on any machine that reaches the index directly.
RUN --mount=type=secret,id=ca,target=/run/secrets/ca,required=false \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && python3 -m venv /opt/welcome \
 && /opt/welcome/bin/pip install --no-cache-dir --disable-pip-version-check /src \
 && /opt/welcome/bin/pip uninstall -y --disable-pip-version-check pip setuptools wheel \
 && /opt/welcome/bin/python -c \
        "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))" \
 && /opt/welcome/bin/twistd welcome --help >/dev/null \
 && /opt/welcome/bin/twistd welcome-exporter --help >/dev/null

# ---- run: python3 and the environment, nothing else -------------------------
FROM debian:bookworm-slim

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
 && groupadd --system --gid 10001 welcome \
 && useradd --uid 10001 --gid welcome --no-create-home --no-log-init \
        --home-dir /nonexistent --shell /usr/sbin/nologin welcome

COPY --from=build /opt/welcome /opt/welcome

ENV PATH=/opt/welcome/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
WORKDIR /tmp

# The welcome port and the metrics port.
EXPOSE 12000 9112

# twistd handles SIGTERM itself: it stops listening, lets welcomes being
# written finish for --shutdown-timeout seconds, and ends (status 0, as the
# container's first process).  Each health check is a greeting like any
# other, counted in the metrics and logged.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["welcome-client", "--host", "127.0.0.1", "--port", "12000", "--timeout", "3"]

# --nodaemon and --logfile=-: the container's process, logging to stdout.
ENTRYPOINT ["twistd", "--nodaemon", "--pidfile=", "--logfile=-", "welcome"]
CMD ["--port", "12000", "--metrics", "tcp:9112", "--shutdown-timeout", "5"]
