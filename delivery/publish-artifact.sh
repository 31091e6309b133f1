#!/usr/bin/env bash
# Publishes an app artifact built by `npm run app:pack -- <version>` to a stack's artifact container, once.
#
#   delivery/publish-artifact.sh <version> <storage-account> <container> [dist-dir]
#
# Uploads app-<version>.tgz and app-<version>.tgz.sha256 with the caller's Azure login (`az login`, or azure/login
# with OIDC in CI; the identity needs "Storage Blob Data Contributor" on the container) and REFUSES to replace a
# version that is already there: artifacts are immutable, one per version, and VMs verify the SHA-256 they were
# given. Two guards: an explicit existence check of both blobs first, and uploads without --overwrite (so a race
# with another run fails too). The checksum file is uploaded last: a reader that finds it finds the artifact.
set -euo pipefail

die() { echo "publish-artifact: $*" >&2; exit 1; }

[[ $# -ge 3 && $# -le 4 ]] || die "usage: $0 <version> <storage-account> <container> [dist-dir]"
version=$1
account=$2
container=$3
dist=${4:-dist}

[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]] ||
  die "version \"$version\" is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.4.2); tag releases as v1.4.2"

tgz="app-$version.tgz"
sum="$tgz.sha256"
[[ -f "$dist/$tgz" ]] || die "$dist/$tgz not found: build it first with npm run app:pack -- $version"
[[ -f "$dist/$sum" ]] || die "$dist/$sum not found: npm run app:pack -- $version writes it next to the artifact"

expected=$(awk 'NR == 1 { print $1 }' "$dist/$sum")
actual=$(sha256sum "$dist/$tgz" | awk '{ print $1 }')
[[ "$expected" == "$actual" ]] ||
  die "$dist/$sum says $expected but $tgz hashes to $actual: rebuild with npm run app:pack -- $version"

blob() { az storage blob "$@" --auth-mode login --account-name "$account" --container-name "$container" --only-show-errors; }

for name in "$tgz" "$sum"; do
  exists=$(blob exists --name "$name" --query exists --output tsv) ||
    die "could not check whether $name exists in $account/$container (is the identity a Storage Blob Data Contributor there?)"
  case "$exists" in
    false) ;;
    true)
      die "$name already exists in $account/$container. Published versions are immutable and are never overwritten:" \
        "release the change as a new version (bump the version, git tag v<next> && git push origin v<next>)." ;;
    *) die "could not tell whether $name exists in $account/$container (az answered \"$exists\")" ;;
  esac
done

blob upload --name "$tgz" --file "$dist/$tgz" --content-type application/gzip --no-progress >/dev/null
blob upload --name "$sum" --file "$dist/$sum" --content-type text/plain --no-progress >/dev/null
echo "published $tgz (sha256 $actual) to $account/$container"
