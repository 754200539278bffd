#!/bin/sh
# make demo: start the sandbox, plan and apply examples/sandbox against it,
# close two incidents in "Lumu", plan and apply again (removals with their
# provenance), and finish with a plan that has no changes. Needs only the two
# binaries built by `make build`.
set -eu

bin=${BIN:-bin}
root=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lumuctl-demo.XXXXXX")
sandbox_pid=

cleanup() {
	if [ -n "$sandbox_pid" ]; then
		kill "$sandbox_pid" 2>/dev/null || true
		wait "$sandbox_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

step() { printf '\n== %s\n\n' "$*"; }

step "Checking the examples (validate, fmt --check)"
for d in examples/*/; do
	"$bin/lumuctl" --chdir "$d" validate >/dev/null
	"$bin/lumuctl" fmt --check "$d"
	echo "ok  $d"
done

step "Starting lumuctl-sandbox (small scenario, free loopback ports)"
"$bin/lumuctl-sandbox" serve --scenario small --seed 1 >"$work/info.json" &
sandbox_pid=$!
i=0
until [ -s "$work/info.json" ]; do
	i=$((i + 1))
	if [ "$i" -gt 100 ]; then
		echo "the sandbox did not start" >&2
		exit 1
	fi
	sleep 0.1
done
eval "$("$bin/lumuctl-sandbox" env "$work/info.json")"
echo "sandbox ready (Lumu, Kibana and control API on 127.0.0.1)"

cp examples/sandbox/main.lumu.hcl "$work/"
cd "$work"
lumuctl() { "$root/$bin/lumuctl" "$@"; }

step "lumuctl init"
lumuctl init

step "lumuctl plan"
lumuctl plan

step "lumuctl apply --auto-approve"
lumuctl apply --auto-approve

step "Two incidents are closed in Lumu"
"$root/$bin/lumuctl-sandbox" close-incidents "$work/info.json" 2 Malware

step "lumuctl plan --out demo.plan (removals, with the incidents that had put them there)"
lumuctl plan --out demo.plan

step "lumuctl apply demo.plan"
lumuctl apply demo.plan

step "lumuctl plan (nothing left to do)"
lumuctl plan --detailed-exitcode

step "lumuctl history"
lumuctl history
