# crossteam: a static, non-root image. `docker compose up` runs the demo
# (a simulated organisation, no credentials); mount a config and run
# `serve` for real sources (see deploy/compose.real.yml).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The version crossteam reports; `docker build --build-arg VERSION=1.2.3`.
ARG VERSION=devel
ARG REVISION=
# modernc.org/sqlite is pure Go: CGO off gives a static binary.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags="-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION}" \
      -o /out/crossteam ./cmd/crossteam \
 && mkdir -p /out/var/lib/crossteam /out/backfill

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/crossteam /usr/local/bin/crossteam
COPY --from=build --chown=65532:65532 /out/var/lib/crossteam /var/lib/crossteam
# Where the compose stack's history file goes (a named volume takes this
# directory's owner on first mount, so the non-root user can write it).
COPY --from=build --chown=65532:65532 /out/backfill /backfill
USER 65532:65532
WORKDIR /var/lib/crossteam
# A soft limit for the Go heap (the runtime honours GOMEMLIMIT; override it
# with `-e GOMEMLIMIT=...`): the garbage collector works harder near it
# instead of letting the heap double past the live data after a full read.
# See the README's "Memory" section for the figures it was chosen from.
ENV GOMEMLIMIT=384MiB
EXPOSE 19280
ENTRYPOINT ["/usr/local/bin/crossteam"]
CMD ["demo", "--web.listen-address=:19280"]
