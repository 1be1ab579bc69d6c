# syntax=docker/dockerfile:1
# ticketflow image: one image for `ticketflow api`, `ticketflow worker` and
# `ticketflow migrate` (see docker-compose.yml). Runtime dependencies only, at the
# versions pinned in constraints.txt, installed into a virtualenv in a build stage
# and copied into a clean runtime stage that runs as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11.15-slim-bookworm

FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies first, from pyproject.toml's [project] dependencies (no dev extra),
# so this layer is rebuilt only when they or the constraints change.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps) + '\n')" \
    && pip install -c constraints.txt -r /tmp/requirements.txt

# Then the project itself (a regular, non-editable install).
COPY . .
RUN pip install -c constraints.txt . \
    && pip check


FROM ${PYTHON_IMAGE} AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    API_HOST=0.0.0.0 \
    API_PORT=8000

RUN groupadd --system --gid 10001 ticketflow \
    && useradd --system --uid 10001 --gid ticketflow --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin ticketflow \
    && install -d -o ticketflow -g ticketflow -m 0750 /app

COPY --from=build /opt/venv /opt/venv

# The support policy (and any template overrides beside it). settings.py's default
# path points into the source tree, which a regular install does not carry, so the
# image names the file explicitly. Mount another file over it to change the policy.
COPY config/ /etc/ticketflow/
ENV TICKETFLOW_CONFIG=/etc/ticketflow/policy.yaml

WORKDIR /app
USER 10001:10001

EXPOSE 8000

ENTRYPOINT ["ticketflow"]
CMD ["api"]
