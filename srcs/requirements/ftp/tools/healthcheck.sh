#!/usr/bin/env bash
# Speaks FTP: the server must greet with 220 and accept AUTH TLS (234).
set -Eeuo pipefail
exec 3<>/dev/tcp/127.0.0.1/21
read -r -t 5 banner <&3
[[ "$banner" == 220* ]]
printf 'AUTH TLS\r\n' >&3
read -r -t 5 reply <&3
[[ "$reply" == 234* ]]
