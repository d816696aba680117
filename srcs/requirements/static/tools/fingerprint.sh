#!/usr/bin/env bash
# Renames each file in assets/ to <name>.<hash>.<ext>, rewrites the HTML pages'
# references to it, and precompresses text files for gzip_static.
set -Eeuo pipefail
cd "$1"
for asset in assets/*; do
	hash="$(sha256sum "$asset" | cut -c1-10)"
	renamed="${asset%.*}.$hash.${asset##*.}"
	mv "$asset" "$renamed"
	sed -i "s#\"/$asset\"#\"/$renamed\"#g" ./*.html
	echo "$asset -> $renamed"
done
find . -type f \( -name '*.html' -o -name '*.css' -o -name '*.svg' -o -name '*.js' \) -exec gzip -9 -k {} +
