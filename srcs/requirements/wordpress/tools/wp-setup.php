<?php
/**
 * First-start installation and idempotent user setup, without wp-cli or any
 * download: WordPress's own install functions. Runs as www-data from the
 * entrypoint, which passes the passwords as JSON on stdin (never in argv or
 * the environment).
 */

function say(string $level, string $message): void
{
    fprintf($level === 'Note' ? STDOUT : STDERR, "%s [wp-setup] %s: %s\n", gmdate('Y-m-d\TH:i:s\Z'), $level, $message);
}

function fail(string $message): never
{
    say('ERROR', $message);
    exit(1);
}

$input = json_decode(stream_get_contents(STDIN), true);
if (!is_array($input)) {
    fail('expected the passwords as a JSON object on stdin');
}
$env = [];
foreach (['DOMAIN_NAME', 'WP_TITLE', 'WP_ADMIN_USER', 'WP_ADMIN_EMAIL', 'WP_USER', 'WP_USER_EMAIL',
          'MYSQL_DATABASE', 'MYSQL_USER'] as $key) {
    $env[$key] = getenv($key) ?: fail("$key is not set; set it in .env and run `invoke up`");
}

// Bounded wait for the database (compose already waits for its healthcheck;
// this covers a database that restarts at the same moment).
mysqli_report(MYSQLI_REPORT_OFF);
$db_password = trim((string) @file_get_contents((getenv('WORDPRESS_SECRETS_DIR') ?: '/run/secrets') . '/db_password'));
$deadline = time() + 60;
while (true) {
    $link = @mysqli_connect(getenv('WORDPRESS_DB_HOST') ?: 'mariadb', $env['MYSQL_USER'], $db_password, $env['MYSQL_DATABASE']);
    if ($link) {
        mysqli_close($link);
        break;
    }
    if (time() >= $deadline) {
        fail('cannot connect to the database at mariadb:3306 (' . mysqli_connect_error() . '); check `invoke logs mariadb`');
    }
    sleep(2);
}
unset($db_password);

$_SERVER['HTTP_HOST'] = $env['DOMAIN_NAME'];
$_SERVER['HTTPS'] = 'on';
define('WP_INSTALLING', true);
require_once '/var/www/html/wp-load.php';

// The install would mail the admin (no MTA here) and probe its own URL for
// pretty permalinks (not reachable before nginx is up): both are replaced.
function wp_new_blog_notification($blog_title, $blog_url, $user_id, $password) {}
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

if (!is_blog_installed()) {
    add_filter('pre_option_permalink_structure', fn() => '/%postname%/');
    $result = wp_install($env['WP_TITLE'], $env['WP_ADMIN_USER'], $env['WP_ADMIN_EMAIL'], true, '',
                         wp_slash($input['admin_password']));
    remove_all_filters('pre_option_permalink_structure');
    update_option('permalink_structure', '/%postname%/');
    flush_rewrite_rules(false);
    say('Note', "WordPress installed for https://{$env['DOMAIN_NAME']} (admin: {$env['WP_ADMIN_USER']})");
} else {
    say('Note', 'WordPress already installed, skipping installation');
    if ((int) get_option('db_version') < (int) $GLOBALS['wp_db_version']) {
        wp_upgrade();
        say('Note', 'database schema upgraded to ' . $GLOBALS['wp_db_version']);
    }
}

// Users are ensured on every start (an install killed half-way may lack them);
// an existing user keeps the password it has now.
function ensure_user(string $login, string $email, string $password, string $role): void
{
    $user = get_user_by('login', $login);
    if ($user) {
        if (!in_array($role, $user->roles, true)) {
            $user->set_role($role);
            say('Note', "user $login given the role $role");
        }
        return;
    }
    $id = wp_insert_user(['user_login' => $login, 'user_email' => $email,
                          'user_pass' => $password, 'role' => $role]);
    if (is_wp_error($id)) {
        fail("cannot create user $login: " . $id->get_error_message());
    }
    say('Note', "user $login created with the role $role");
}

ensure_user($env['WP_ADMIN_USER'], $env['WP_ADMIN_EMAIL'], $input['admin_password'], 'administrator');
ensure_user($env['WP_USER'], $env['WP_USER_EMAIL'], $input['user_password'], 'author');

// The names visitors see (on posts, in feeds and oEmbed) and the public slug
// are not the login names, which WordPress would use for both: a login name is
// half of what a password guesser needs. Names a user chose are kept.
function public_names(string $login, string $shown): void
{
    $user = get_user_by('login', $login);
    $slug_base = sanitize_title(mb_substr($login, 0, 50));
    $changes = [];
    if (strcasecmp($user->display_name, $login) === 0 || trim($user->display_name) === '') {
        $changes['display_name'] = strcasecmp($shown, $login) === 0 ? "$shown ($user->ID)" : $shown;
    }
    if ($user->user_nicename === $slug_base || preg_match('/^' . preg_quote($slug_base, '/') . '-\d+$/', $user->user_nicename)) {
        $changes['user_nicename'] = 'author-' . substr(hash_hmac('sha256', $login, wp_salt('auth')), 0, 10);
    }
    if (strcasecmp((string) get_user_meta($user->ID, 'nickname', true), $login) === 0) {
        $changes['nickname'] = $changes['display_name'] ?? $user->display_name;
    }
    if ($changes) {
        $result = wp_update_user(['ID' => $user->ID] + $changes);
        if (is_wp_error($result)) {
            fail("cannot set the public names of $login: " . $result->get_error_message());
        }
        say('Note', "public names of $login set (" . implode(', ', array_keys($changes)) . ')');
    }
}

public_names($env['WP_ADMIN_USER'], 'Site editor');
public_names($env['WP_USER'], 'Guest author');
