#!/usr/bin/env bash
# An HTTP request to the site's nginx (the image has no curl: bash's /dev/tcp).
set -Eeuo pipefail
exec 3<>/dev/tcp/127.0.0.1/8080
printf 'GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
read -r -t 5 status <&3
[[ "$status" == "HTTP/1.1 200 "* ]]
