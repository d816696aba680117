<?php
/**
 * Inception: PHP-FPM's own refusal of any script that is not one of
 * WordPress's entry points (prepended to every request by the pool's
 * php_admin_value[auto_prepend_file]). nginx allows only those entry points;
 * this guard holds even if nginx's rules were wrong: a file dropped into
 * wp-content (uploads, a plugin's stray script) or outside the site never runs
 * as a page. WordPress includes its wp-content files itself; only the script
 * a request names is checked here.
 */
(static function (): void {
    $docroot = '/var/www/html/';
    $script = (string) ($_SERVER['SCRIPT_FILENAME'] ?? '');
    $real = realpath($script);
    $entry = $real !== false && str_starts_with($real, $docroot)
        && !str_starts_with($real, $docroot . 'wp-content/')
        && !str_starts_with($real, $docroot . 'wp-includes/')
        && strtolower(pathinfo($real, PATHINFO_EXTENSION)) === 'php';
    if (!$entry) {
        error_log('php-guard: refused to run ' . json_encode($script, JSON_UNESCAPED_SLASHES) . ': not a WordPress entry point');
        http_response_code(404);
        header('Content-Type: text/plain; charset=utf-8');
        header('Cache-Control: no-store');
        exit("Not found\n");
    }
})();
