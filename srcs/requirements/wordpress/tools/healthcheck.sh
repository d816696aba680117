#!/usr/bin/env bash
# A real FastCGI request to PHP-FPM's ping page, and WordPress in place.
set -Eeuo pipefail
[[ -f /var/www/html/wp-includes/version.php && -f /var/www/html/wp-config.php ]]
reply="$(SCRIPT_NAME=/fpm-ping SCRIPT_FILENAME=/fpm-ping REQUEST_METHOD=GET \
	cgi-fcgi -bind -connect 127.0.0.1:9000)"
[[ "$reply" == *pong* ]]
