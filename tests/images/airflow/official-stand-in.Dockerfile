# A stand-in for the official apache/airflow:3.3.2-python3.11 image, which no registry here serves, built so that
# images/airflow/Dockerfile is built and tested as it would be on top of the real one (`make airflow-image-stand-in`).
# It copies the official image's layout, read in apache/airflow's Dockerfile, not its build: Debian bookworm and
# Python 3.11; user airflow, UID 50000, group 0, home /home/airflow; Airflow and its providers in a virtual
# environment at /home/airflow/.local, owned by airflow:0, group-writable, first on PATH; the constraints it was
# installed with at /home/airflow/constraints.txt; pip refused to root; /opt/airflow (AIRFLOW_HOME) with dags/ and
# logs/; USER 50000; an entrypoint that runs `airflow ARGS`, or bash or python. What it cannot copy: the official
# constraints (ours stand in: the same Airflow, our providers' versions) and the official set of extras (the ones
# the chart and our DAGs use: FAB, Kubernetes, PostgreSQL, Slack, StatsD).
ARG BASE_IMAGE=nivesh/python:3.11-bookworm
FROM ${BASE_IMAGE}
ENV AIRFLOW_HOME=/opt/airflow AIRFLOW_USER_HOME_DIR=/home/airflow VIRTUAL_ENV=/home/airflow/.local \
    PATH=/root/bin:/home/airflow/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_CACHE_DIR=/tmp/.cache/pip PIP_DISABLE_PIP_VERSION_CHECK=1
COPY constraints.txt /home/airflow/constraints.txt
# The two scripts' $ are for them to expand when they run, not for this shell.
# hadolint ignore=SC2016
RUN useradd --uid 50000 --gid 0 --home-dir /home/airflow --create-home --shell /bin/bash airflow \
    && mkdir -p /opt/airflow/dags /opt/airflow/logs /root/bin \
    && printf '#!/bin/bash\nif [ "$(id -u)" = 0 ]; then echo "You are running pip as root. Please use the airflow user to run pip!" >&2; exit 1; fi\nexec "$HOME/.local/bin/pip" "$@"\n' > /root/bin/pip \
    && printf '#!/bin/bash\ncase "$1" in bash|python) exec "$@";; esac\nexec airflow "$@"\n' > /entrypoint \
    && chmod 755 /root /root/bin /root/bin/pip /entrypoint \
    && chown -R airflow:0 /home/airflow /opt/airflow && chmod -R g+rw /home/airflow /opt/airflow
USER 50000
RUN --mount=type=secret,id=ca-bundle,uid=50000 \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && python3 -m venv /home/airflow/.local \
    && pip install --no-cache-dir --constraint /home/airflow/constraints.txt \
       "apache-airflow[cncf-kubernetes,fab,postgres,slack,statsd]==3.3.2" \
    && chmod -R g+rw /home/airflow/.local
WORKDIR /opt/airflow
ENTRYPOINT ["/entrypoint"]
CMD []
