<?php
/**
 * Plugin Name: Inception cache refresh
 * Description: After content changes, asks nginx to render the affected pages
 *   anew (its micro-cache keeps anonymous pages for one second), so a visitor's
 *   next view shows the edit at once.
 * Inception-Drop-In: 1 (the entrypoint updates this file only while this line is here)
 */

defined('ABSPATH') || exit;

final class Inception_Cache_Refresh
{
    private static $paths = [];

    public static function post_changed($post_id): void
    {
        if (wp_is_post_revision($post_id) || wp_is_post_autosave($post_id)) {
            return;
        }
        $link = get_permalink($post_id);
        if ($link) {
            self::$paths[] = wp_parse_url($link, PHP_URL_PATH) ?: '/';
        }
        self::$paths[] = '/';
    }

    public static function comment_changed($comment_id): void
    {
        $comment = get_comment($comment_id);
        if ($comment) {
            self::post_changed((int) $comment->comment_post_ID);
        }
    }

    /** At the end of the request, once the change is committed. */
    public static function flush(): void
    {
        $domain = getenv('DOMAIN_NAME');
        $ca = (getenv('WORDPRESS_SECRETS_DIR') ?: '/run/secrets') . '/ca.crt';
        if (!$domain || !self::$paths) {
            return;
        }
        // nginx's container answers to the domain on the internal network,
        // on port 443 whatever HTTPS_PORT is published as. Each page has two
        // cached copies, compressed and plain: both are rendered anew.
        foreach (array_unique(self::$paths) as $path) {
            foreach (['gzip', 'identity'] as $encoding) {
                $response = wp_remote_get("https://$domain$path", [
                    'timeout' => 3,
                    'redirection' => 0,
                    'sslcertificates' => $ca,
                    'decompress' => false,
                    'headers' => ['X-Inception-Refresh' => '1', 'Accept-Encoding' => $encoding],
                ]);
                if (is_wp_error($response)) {
                    error_log("cache-refresh: could not refresh $path ($encoding): " . $response->get_error_message());
                }
            }
        }
        self::$paths = [];
    }
}

add_action('save_post', [Inception_Cache_Refresh::class, 'post_changed']);
add_action('deleted_post', [Inception_Cache_Refresh::class, 'post_changed']);
add_action('trashed_post', [Inception_Cache_Refresh::class, 'post_changed']);
add_action('comment_post', [Inception_Cache_Refresh::class, 'comment_changed']);
add_action('edit_comment', [Inception_Cache_Refresh::class, 'comment_changed']);
add_action('wp_set_comment_status', [Inception_Cache_Refresh::class, 'comment_changed']);
add_action('shutdown', [Inception_Cache_Refresh::class, 'flush'], 0);
