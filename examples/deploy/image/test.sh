#!/bin/sh
# test.sh: checks the image `make image` built (IMAGE, CONTAINER=podman).
# It inspects the configuration and the exported filesystem, then runs the
# image's own binary from the export (a static binary runs anywhere); it does
# not start a container, so it also works where the container runtime cannot
# (see docs/operating.md).
set -eu
image=${IMAGE:?IMAGE is required}
ctr=${CONTAINER:-podman}
fail() { echo "image-test: $*" >&2; exit 1; }

cfg=$($ctr image inspect --format '{{.Config.User}}|{{json .Config.Entrypoint}}|{{json .Config.Volumes}}|{{.Config.WorkingDir}}' "$image")
[ "$cfg" = '65532:65532|["lumuctl"]|{"/var/lib/lumuctl":{}}|/var/lib/lumuctl' ] || fail "unexpected image configuration: $cfg"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; [ -n "${cid:-}" ] && $ctr rm "$cid" >/dev/null' EXIT
cid=$($ctr create "$image")
$ctr export "$cid" >"$tmp/fs.tar"
tar --numeric-owner -tvf "$tmp/fs.tar" >"$tmp/list"
grep -Eq '^-rwxr-xr-x +0/0 .* usr/local/bin/lumuctl$' "$tmp/list" || fail "no executable usr/local/bin/lumuctl owned by root"
grep -Eq ' etc/ssl/certs/ca-certificates.crt$' "$tmp/list" || fail "no CA certificates"
grep -Eq '^drwxr-xr-x +65532/65532 .* var/lib/lumuctl/?$' "$tmp/list" || fail "/var/lib/lumuctl is not owned by 65532"
grep -Eq '^drwxrwxrwt .* tmp/?$' "$tmp/list" || fail "/tmp is not mode 1777"
mkdir "$tmp/fs"
tar -xf "$tmp/fs.tar" -C "$tmp/fs"
grep -q '^lumuctl:x:65532:65532:' "$tmp/fs/etc/passwd" || fail "no lumuctl user in /etc/passwd"
# Static: no program interpreter (a dynamic binary would not run on scratch).
if LC_ALL=C grep -aq '/ld-linux' "$tmp/fs/usr/local/bin/lumuctl"; then
	fail "usr/local/bin/lumuctl is dynamically linked"
fi
"$tmp/fs/usr/local/bin/lumuctl" version | grep -q '^lumuctl ' || fail "the image's lumuctl does not run"
echo "image-test: $image ok (user 65532, entrypoint lumuctl, volume /var/lib/lumuctl, static binary, CA certificates)"
