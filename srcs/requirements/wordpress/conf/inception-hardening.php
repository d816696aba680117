<?php
/**
 * Plugin Name: Inception hardening
 * Description: Keeps login names private (no user lists, author archives or
 *   user sitemaps for visitors, names shown on posts that are not logins, one
 *   answer for every failed login or password reset), keeps the WordPress
 *   version to itself, and keeps code changes out of the dashboard.
 * Inception-Drop-In: 1 (the entrypoint updates this file only while this line is here)
 */

defined('ABSPATH') || exit;

// Code reaches the site through the image (core) and FTP (plugins, themes),
// never through the dashboard: a stolen administrator session cannot upload a
// plugin and run it. wp-config.php may define it false to allow that again.
defined('DISALLOW_FILE_MODS') || define('DISALLOW_FILE_MODS', true);
defined('DISALLOW_FILE_EDIT') || define('DISALLOW_FILE_EDIT', true);

final class Inception_Hardening
{
    /** Half of what a password guesser needs is a login name. */
    public static function rest_endpoints(array $endpoints): array
    {
        if (current_user_can('list_users')) {
            return $endpoints;
        }
        // The list and each user by id; /users/me (the user's own record)
        // stays, it answers only to that user.
        foreach (array_keys($endpoints) as $route) {
            if (preg_match('#^/wp/v2/users(?:/\(\?P<id>[^)]*\))?$#', $route)) {
                unset($endpoints[$route]);
            }
        }
        return $endpoints;
    }

    /** Author archives (/?author=1 redirects to /author/<slug>/) and the user sitemap: none. */
    public static function no_author_archives(): void
    {
        if (is_author() || isset($_GET['author']) || get_query_var('author_name') !== ''
            || get_query_var('sitemap') === 'users') {
            global $wp_query;
            $wp_query->set_404();
            status_header(404);
            nocache_headers();
            // The theme's 404 page, and nothing else (not the author's feed).
            include get_404_template();
            exit;
        }
    }

    /**
     * In the dashboard WordPress refuses many requests with wp_die() and no
     * status ("Sorry, you are not allowed...", "Multisite support is not
     * enabled", a block theme's widgets page, file changes switched off), and
     * wp_die()'s default is 500, which says "our bug" and trips monitoring.
     * Those refusals are 403s; a status given on purpose is kept.
     */
    public static function die_handler($handler)
    {
        if (!is_admin() || wp_doing_ajax()) {
            return $handler;
        }
        return static function ($message, $title = '', $args = []) use ($handler) {
            $data = is_wp_error($message) ? $message->get_error_data() : null;
            $explicit = is_int($title) || is_int($args) || (is_array($args) && isset($args['response']))
                || (is_array($data) && isset($data['status']));
            if (!$explicit) {
                $args = (is_array($args) ? $args : []) + ['response' => 403];
            }
            $handler($message, $title, $args);
        };
    }

    public static function no_user_sitemap($provider, string $name)
    {
        return $name === 'users' ? false : $provider;
    }

    /**
     * New and updated users: the public slug and the name shown on posts are
     * never the login (WordPress makes both from it by default).
     */
    public static function public_names(array $data, bool $update, $user_id, array $userdata): array
    {
        $login = (string) ($data['user_login'] ?? $userdata['user_login'] ?? '');
        if ($login === '') {
            return $data;
        }
        if (self::is_login_slug((string) ($data['user_nicename'] ?? ''), $login)) {
            $data['user_nicename'] = self::slug_for($login);
        }
        if (strcasecmp(trim((string) ($data['display_name'] ?? '')), $login) === 0 || trim((string) ($data['display_name'] ?? '')) === '') {
            $name = trim(($userdata['first_name'] ?? '') . ' ' . ($userdata['last_name'] ?? ''));
            $data['display_name'] = $name !== '' ? $name : __('Author');
        }
        return $data;
    }

    public static function public_nickname(array $meta, WP_User $user): array
    {
        if (strcasecmp((string) ($meta['nickname'] ?? ''), $user->user_login) === 0) {
            $meta['nickname'] = $user->display_name && strcasecmp($user->display_name, $user->user_login) !== 0
                ? $user->display_name : __('Author');
        }
        return $meta;
    }

    public static function is_login_slug(string $slug, string $login): bool
    {
        $base = sanitize_title(mb_substr($login, 0, 50));
        return $slug === '' || $slug === $base || preg_match('/^' . preg_quote($base, '/') . '-\d+$/', $slug) === 1;
    }

    /** Stable, and not derivable from the login without the site's salt. */
    public static function slug_for(string $login): string
    {
        return 'author-' . substr(hash_hmac('sha256', $login, wp_salt('auth')), 0, 10);
    }

    /**
     * A wrong password and an unknown user (or e-mail) get the same answer,
     * error code included: wp-login.php refills the name field and shakes the
     * form according to the code.
     */
    public static function same_failure($user)
    {
        if (is_wp_error($user) && array_intersect($user->get_error_codes(),
                ['invalid_username', 'invalid_email', 'incorrect_password'])) {
            return new WP_Error('incorrect_password', self::failure_message());
        }
        return $user;
    }

    /** The same for an application password (REST API, HTTP Basic). */
    public static function same_app_password_failure(): void
    {
        $GLOBALS['wp_rest_application_password_status'] = new WP_Error(
            'incorrect_password', self::failure_message(), ['status' => 401]);
    }

    private static function failure_message(): string
    {
        return '<strong>' . __('Error:') . '</strong> ' . __('Incorrect username or password.');
    }

    /**
     * "Lost password" says "check your e-mail" whether or not the account
     * exists (and whether or not a mail could be sent: this stack has no MTA).
     */
    public static function lost_password(): void
    {
        if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST' || trim((string) ($_POST['user_login'] ?? '')) === '') {
            return;
        }
        $result = retrieve_password();
        if (is_wp_error($result) && !array_intersect($result->get_error_codes(), ['invalid_email', 'invalidcombo'])) {
            error_log('wordpress: password reset failed: ' . $result->get_error_code());
        }
        wp_safe_redirect(!empty($_REQUEST['redirect_to']) ? $_REQUEST['redirect_to'] : 'wp-login.php?checkemail=confirm');
        exit;
    }

    /** Core assets keep a version token for caches, not the version itself. */
    public static function hide_version(string $src): string
    {
        $version = get_bloginfo('version');
        if ($src !== '' && str_contains($src, "ver=$version")) {
            $token = substr(hash_hmac('sha256', $version, wp_salt('nonce')), 0, 10);
            $src = preg_replace('/([?&;]ver=)' . preg_quote($version, '/') . '(?![\w.])/', '${1}' . $token, $src);
        }
        return $src;
    }
}

add_filter('rest_endpoints', [Inception_Hardening::class, 'rest_endpoints']);
add_action('template_redirect', [Inception_Hardening::class, 'no_author_archives'], 0);
add_filter('wp_die_handler', [Inception_Hardening::class, 'die_handler']);
add_filter('wp_sitemaps_add_provider', [Inception_Hardening::class, 'no_user_sitemap'], 10, 2);
// Links to the (gone) author archives point home instead; oEmbed's author_url too.
add_filter('author_link', static fn() => home_url('/'));
add_filter('wp_pre_insert_user_data', [Inception_Hardening::class, 'public_names'], 10, 4);
add_filter('insert_user_meta', [Inception_Hardening::class, 'public_nickname'], 10, 2);
add_filter('authenticate', [Inception_Hardening::class, 'same_failure'], 100);
add_action('application_password_failed_authentication', [Inception_Hardening::class, 'same_app_password_failure'], 20);
add_action('login_form_lostpassword', [Inception_Hardening::class, 'lost_password']);
add_action('login_form_retrievepassword', [Inception_Hardening::class, 'lost_password']);

// The version: no generator tag in pages, feeds or OPML, no ?ver= of it.
remove_action('wp_head', 'wp_generator');
add_filter('the_generator', '__return_empty_string');
add_filter('style_loader_src', [Inception_Hardening::class, 'hide_version']);
add_filter('script_loader_src', [Inception_Hardening::class, 'hide_version']);
add_filter('script_module_loader_src', [Inception_Hardening::class, 'hide_version']);
// The login page would load its files as one load-styles.php/load-scripts.php
// URL carrying ver=<version>; one URL per file (HTTP/2) passes the filters above.
add_action('login_init', static function (): void {
    $GLOBALS['concatenate_scripts'] = false;
});
