# lumuctl container image: a static binary on an empty base, run as the
# non-root user lumuctl (65532), with CA certificates and a /var/lib/lumuctl
# volume that holds the configuration (*.lumu.hcl) and the state (.lumuctl/).
#
#   docker build -t lumuctl --build-arg VERSION=$(git describe --tags --always) .
#   docker run -d --restart unless-stopped --name lumuctl \
#     -v /opt/lumuctl:/var/lib/lumuctl --env-file /opt/lumuctl-keys.env -p 9090:9090 \
#     lumuctl apply --auto-approve --every 30m --metrics-listen :9090
#
# `make image` builds the same image with podman without pulling golang: it
# runs examples/deploy/image/rootfs.sh locally and passes the result as the
# "build" stage (--build-context build=bin/image).
# docs/operating.md describes every deployment; examples/deploy/ has the
# systemd, cron and Kubernetes ones.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN sh examples/deploy/image/rootfs.sh /out "$VERSION" "$COMMIT"

FROM scratch
COPY --from=build /out/rootfs/ /
COPY --from=build --chown=65532:65532 /out/state/ /var/lib/lumuctl/
ENV PATH=/usr/local/bin HOME=/var/lib/lumuctl
USER 65532:65532
WORKDIR /var/lib/lumuctl
VOLUME ["/var/lib/lumuctl"]
ENTRYPOINT ["lumuctl"]
CMD ["--help"]
