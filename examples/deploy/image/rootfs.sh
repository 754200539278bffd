#!/bin/sh
# rootfs.sh DEST [VERSION [COMMIT]]: builds the root filesystem of the lumuctl
# container image into DEST/rootfs: the static binary, the CA certificates, a
# passwd/group naming the non-root user lumuctl (65532) and /tmp; and
# DEST/state, the empty /var/lib/lumuctl (the Dockerfile copies it with
# --chown, which sets the owner of a directory only when COPY creates it). The Dockerfile's build stage runs it; so does `make image`, which then
# hands DEST to the same Dockerfile instead of that stage (no registry needed).
# Run from the repository root, with go on PATH.
set -eu
out=$1
dest=$out/rootfs
version=${2:-dev}
commit=${3:-unknown}
pkg=github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli
mkdir -p "$dest/usr/local/bin" "$dest/etc/ssl/certs" "$dest/var/lib" "$dest/tmp" "$out/state"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X $pkg.version=$version -X $pkg.commit=$commit" \
	-o "$dest/usr/local/bin/lumuctl" ./cmd/lumuctl
cp /etc/ssl/certs/ca-certificates.crt "$dest/etc/ssl/certs/ca-certificates.crt"
echo 'lumuctl:x:65532:65532:lumuctl:/var/lib/lumuctl:/sbin/nologin' >"$dest/etc/passwd"
echo 'lumuctl:x:65532:' >"$dest/etc/group"
chmod 0755 "$out/state"
chmod 1777 "$dest/tmp"
