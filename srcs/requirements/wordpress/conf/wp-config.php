<?php
/**
 * Inception's wp-config.php. Written to the files volume on first start and
 * kept afterwards (edit it freely). Settings come from the environment, and
 * credentials from Docker secrets at run time, so this file holds no secret.
 */

function inception_secret(string $name): string
{
    $dir = getenv('WORDPRESS_SECRETS_DIR') ?: '/run/secrets';
    $value = @file_get_contents("$dir/$name");
    if ($value === false || trim($value) === '') {
        error_log("wp-config: secret $dir/$name is missing or unreadable; run `invoke setup` on the host");
        http_response_code(503);
        exit("Service unavailable: configuration incomplete.\n");
    }
    return trim($value);
}

define('DB_NAME', getenv('MYSQL_DATABASE') ?: 'wordpress');
define('DB_USER', getenv('MYSQL_USER') ?: 'wordpress');
define('DB_PASSWORD', inception_secret('db_password'));
define('DB_HOST', getenv('WORDPRESS_DB_HOST') ?: 'mariadb');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$table_prefix = 'wp_';

// One secret, eight derived keys: rotating secrets/wp_salt logs everybody out.
$inception_salt = inception_secret('wp_salt');
foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY',
          'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as $inception_key) {
    define($inception_key, hash_hmac('sha256', $inception_key, $inception_salt));
}
unset($inception_salt, $inception_key);

$inception_port = getenv('HTTPS_PORT') ?: '443';
define('WP_HOME', 'https://' . getenv('DOMAIN_NAME') . ($inception_port === '443' ? '' : ":$inception_port"));
define('WP_SITEURL', WP_HOME);
// nginx routes only DOMAIN_NAME here, but over HTTP/2 the host reaches PHP
// without the published port: WordPress would then redirect to WP_HOME
// forever whenever HTTPS_PORT is not 443 (a test instance, a second site).
$_SERVER['HTTP_HOST'] = parse_url(WP_HOME, PHP_URL_HOST) . ($inception_port === '443' ? '' : ":$inception_port");
$_SERVER['SERVER_PORT'] = $inception_port;
unset($inception_port);
define('FORCE_SSL_ADMIN', true);

// Core updates come with the image (`invoke build`), not from the dashboard.
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('DISALLOW_FILE_EDIT', true);
// Plugins and themes come by FTP, not as uploads to the dashboard (the
// hardening mu-plugin sets this too, for sites installed before it).
define('DISALLOW_FILE_MODS', true);
// Outbound HTTP (update checks, plugin directory) only when .env allows it;
// requests to the site itself (cron, site health) always work.
if (getenv('WP_EXTERNAL_HTTP') !== 'yes') {
    define('WP_HTTP_BLOCK_EXTERNAL', true);
    define('WP_ACCESSIBLE_HOSTS', getenv('DOMAIN_NAME') . ',*.' . getenv('DOMAIN_NAME'));
}
define('WP_DEBUG', false);

if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
