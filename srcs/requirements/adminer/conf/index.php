<?php
/**
 * Inception's Adminer: logs in to the project's MariaDB and nowhere else, so
 * it cannot be used to probe other hosts or ports from inside the network.
 */

function adminer_object()
{
    include_once '/usr/share/adminer/plugins/login-servers.php';
    include_once '/usr/share/adminer/plugins/version-noverify.php';
    return new Adminer\Plugins([
        // The only server offered; a login naming any other is refused.
        new AdminerLoginServers(['mariadb' => ['server' => 'mariadb', 'driver' => 'server']]),
        // No version check against adminer.org (the stack works offline).
        new AdminerVersionNoverify(),
    ]);
}

/**
 * What visitors are not told: Adminer's version (printed in its header, its
 * file links and a script call on every page, the login page included), and
 * the container's internal address, which MariaDB names in "Access denied for
 * user 'x'@'172.18.0.4'". Adminer has no hook for either, so its HTML is
 * filtered on the way out, in chunks (an export can be large), touching only
 * those spots: table data shown on a page is never rewritten.
 */
function inception_scrub_page(string $chunk): string
{
    foreach (headers_list() as $header) {
        if (stripos($header, 'Content-Type:') === 0 && stripos($header, 'text/html') === false) {
            return $chunk;
        }
    }
    $version = \Adminer\VERSION;
    // File links keep a version-like token, so browsers still refetch after an upgrade.
    $token = substr(hash('sha256', 'inception-adminer-' . $version . php_uname('n')), 0, 10);
    $chunk = str_replace(
        ["version=$version", "<span class='version'>$version", "verifyVersion, '$version'"],
        ["version=$token", "<span class='version'>", "verifyVersion, ''"],
        $chunk
    );
    return preg_replace_callback(
        "~<div class='error'>.*?</div>~s",
        static fn(array $m): string => preg_replace(
            '~\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b~i', 'this host', $m[0]),
        $chunk
    );
}
ob_start('inception_scrub_page', 65536);

// Adminer's own login() refuses an empty password.
include '/usr/share/adminer/adminer.php';
