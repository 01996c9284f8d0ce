#!/usr/bin/env bash
# Builds the Lumen server image: deploy/image/build.sh [TAG] (default lumen:dev).
#   - the static binary, CGO_ENABLED=0, trimmed, with the commit as its version;
#   - the host's CA bundle (Debian: ca-certificates) for TLS to the Hub;
#   - /etc/passwd and /etc/group with the non-root user 65532 ("lumen");
#   - docker build of deploy/image/Dockerfile (FROM scratch: no registry is needed).
# LUMEN_IMAGE_CONTEXT=DIR keeps the build context there (CI reads the binary's size).
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-lumen:dev}
ctx=${LUMEN_IMAGE_CONTEXT:-$(mktemp -d)}
mkdir -p "$ctx/data"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ctx/lumen" ./cmd/lumen
certs=/etc/ssl/certs/ca-certificates.crt
[ -s "$certs" ] || { echo "no CA bundle at $certs (install ca-certificates)"; exit 1; }
cp "$certs" "$ctx/ca-certificates.crt"
printf 'root:x:0:0:root:/:/sbin/nologin\nlumen:x:65532:65532:lumen:/data:/sbin/nologin\n' >"$ctx/passwd"
printf 'root:x:0:\nlumen:x:65532:\n' >"$ctx/group"
cp deploy/image/Dockerfile "$ctx/Dockerfile"
echo "binary: $(stat -c %s "$ctx/lumen") bytes"
docker build -q -t "$tag" "$ctx"
echo "image $tag: $(docker image inspect -f '{{.Size}}' "$tag") bytes"
