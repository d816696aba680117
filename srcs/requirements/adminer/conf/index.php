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

// Adminer's own login() refuses an empty password.
include '/usr/share/adminer/adminer.php';
