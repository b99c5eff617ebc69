# The image of tally-uptime's nightly job. CDK builds it as an asset for
# linux/arm64 (Fargate ARM64); `docker buildx build --platform linux/arm64 .`
# builds the same thing by hand.
#
# Base images are pinned by digest; the tag stays in front of the digest only as
# a note for humans and for the updater. The digests are the multi-arch index
# (manifest list) digests, so the same pin works for every platform. Refresh
# them with Dependabot or Renovate (docker ecosystem, this file), or by hand:
#   crane digest golang:1.26-bookworm   # then write the exact 1.26.x tag
#   crane digest gcr.io/distroless/static-debian12:nonroot
# (or `docker buildx imagetools inspect <image:tag>`, first "Digest:" line).
# Pinned: golang:1.26.4-bookworm (index digest; any Go 1.26.x satisfies go.mod)
# and distroless static-debian12:nonroot as published in August 2026.

# ---- build: runs on the builder's own platform and cross-compiles -----------
FROM --platform=$BUILDPLATFORM golang:1.26.4-bookworm@sha256:b305420a68d0f229d91eb3b3ed9e519fcf2cf5461da4bef997bf927e8c0bfd2b AS build
WORKDIR /src

# .dockerignore lets through only go.mod, go.sum, job/ and internal/ (without tests).
# Only the modules the job imports are downloaded: `go list -deps ./job` fetches the source of the
# packages it builds (about 1 MB), never the CDK modules go.mod also lists for infra/ (over 80 MB),
# so this layer is cheap to rebuild when the code changes. Checksums are checked against go.sum.
COPY go.mod go.sum ./
COPY job/ job/
COPY internal/ internal/
RUN go list -deps ./job >/dev/null

ARG TARGETOS=linux
ARG TARGETARCH
# The context has no .git, so Go cannot stamp the revision itself: pass both, e.g.
#   docker buildx build --build-arg VERSION=1.4.0 --build-arg REVISION=$(git rev-parse HEAD) .
# `uptime-job --version` and every log record print them.
ARG VERSION=dev
ARG REVISION=unknown
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w -X main.version=$VERSION -X main.revision=$REVISION" -o /out/uptime-job ./job

# ---- run: distroless static (CA certificates, tzdata, /etc/passwd; no shell) --
FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /out/uptime-job /uptime-job
# OCI labels from the same build arguments as `uptime-job --version` (an ARG does
# not cross stages, so they are declared again): `docker inspect` or
# `crane config` on an image says what it was built from without running it.
# CDK passes all four (infra/task.go); CREATED is the commit's time, not the
# build's, so rebuilding one commit gives the same image.
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/tally/uptime
ARG CREATED=unknown
LABEL org.opencontainers.image.title="uptime-job" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.source="$SOURCE" \
      org.opencontainers.image.created="$CREATED"
# 65532 is distroless's "nonroot" user; numeric so ECS and Kubernetes can tell it is not root.
USER 65532:65532
# The task's command (e.g. a backfill's `--from 2024-01-01 --dry-run`) is
# appended to this, so a command override is just the job's flags.
ENTRYPOINT ["/uptime-job"]
