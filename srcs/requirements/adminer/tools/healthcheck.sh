#!/usr/bin/env bash
# Requests Adminer's login page through PHP-FPM over FastCGI.
set -Eeuo pipefail
page="$(SCRIPT_NAME=/index.php SCRIPT_FILENAME=/var/www/adminer/index.php REQUEST_METHOD=GET \
	REQUEST_URI=/ HTTPS=on SERVER_NAME=localhost cgi-fcgi -bind -connect 127.0.0.1:9000)"
[[ "$page" == *'name="auth[password]"'* ]]
