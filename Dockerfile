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

# Module downloads get their own layer: it is rebuilt only when go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

# .dockerignore lets through only go.mod, go.sum, job/ and internal/ (without tests).
COPY . .

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
# 65532 is distroless's "nonroot" user; numeric so ECS and Kubernetes can tell it is not root.
USER 65532:65532
# The task's command (e.g. a backfill's `--from 2024-01-01 --dry-run`) is
# appended to this, so a command override is just the job's flags.
ENTRYPOINT ["/uptime-job"]
