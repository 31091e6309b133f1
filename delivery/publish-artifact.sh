#!/usr/bin/env bash
# Publishes an app artifact built by `npm run app:pack -- <version>` to a stack's artifact container, once.
#
#   delivery/publish-artifact.sh <version> <storage-account> <container> [dist-dir]
#
# Uploads app-<version>.tgz and app-<version>.tgz.sha256 with the caller's Azure login (`az login`, or azure/login
# with OIDC in CI; the identity needs "Storage Blob Data Contributor" on the container). Artifacts are immutable,
# one per version, and VMs verify the SHA-256 they were given, so a blob that is already there is compared, never
# replaced: the same bytes (a re-run, or the other half of a partial publish) → that upload is skipped and the
# missing one completes the version; other bytes → REFUSED. Uploads run without --overwrite (a race with another
# run fails too). The checksum file goes last: a reader that finds it finds the artifact.
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
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# published_as NAME: prints the SHA-256 that the blob NAME stands for ("" when it is not there)
published_as() {
  local exists
  exists=$(blob exists --name "$1" --query exists --output tsv) ||
    die "could not check whether $1 exists in $account/$container (is the identity a Storage Blob Data Contributor there?)"
  case "$exists" in
    false) return 0 ;;
    true) ;;
    *) die "could not tell whether $1 exists in $account/$container (az answered \"$exists\")" ;;
  esac
  blob download --name "$1" --file "$tmp/$1" --no-progress >/dev/null ||
    die "could not download $1 from $account/$container to compare it"
  if [[ $1 == *.sha256 ]]; then awk 'NR == 1 { print $1 }' "$tmp/$1"; else sha256sum "$tmp/$1" | awk '{ print $1 }'; fi
}

missing=()
for name in "$tgz" "$sum"; do   # compare both before uploading anything
  there=$(published_as "$name")
  if [[ -z $there ]]; then
    missing+=("$name")
  elif [[ $there != "$actual" ]]; then
    die "$name already exists in $account/$container and stands for sha256 $there, not $actual. Published versions are" \
      "immutable and are never overwritten: release the change as a new version (git tag v<next> && git push origin v<next>)."
  fi
done
for name in "${missing[@]}"; do
  type=application/gzip; [[ $name == *.sha256 ]] && type=text/plain
  blob upload --name "$name" --file "$dist/$name" --content-type "$type" --no-progress >/dev/null
done
uploaded=${#missing[@]}
case $uploaded in
  2) echo "published $tgz (sha256 $actual) to $account/$container" ;;
  1) echo "completed $tgz (sha256 $actual) in $account/$container: the same bytes were half there" ;;
  *) echo "$tgz (sha256 $actual) was already published to $account/$container: nothing to do" ;;
esac
