<?php
/**
 * Cache-semantics cases for the Redis object-cache drop-in, run inside the
 * wordpress container against the real Redis. Prints one JSON object:
 * {"case name": null on success, or what went wrong}.
 */

$_SERVER['HTTP_HOST'] = getenv('DOMAIN_NAME');
$_SERVER['HTTPS'] = 'on';
require '/var/www/html/wp-load.php';

$results = [];
$group = 'inception-test-' . bin2hex(random_bytes(4));

function check(bool $ok, string $what): void
{
    if (!$ok) {
        throw new Exception($what);
    }
}

function redis_client(): Redis
{
    $redis = new Redis();
    $redis->connect(getenv('WP_REDIS_HOST') ?: 'redis', 6379, 1.0);
    $password = trim(file_get_contents((getenv('WORDPRESS_SECRETS_DIR') ?: '/run/secrets') . '/redis_password'));
    $redis->auth([getenv('WP_REDIS_USER') ?: 'wordpress', $password]);
    return $redis;
}

/** The keys matching a pattern, by SCAN as the drop-in does: WordPress's Redis user may not run KEYS. */
function redis_keys(Redis $redis, string $pattern): array
{
    $keys = [];
    $iterator = null;
    do {
        $keys = array_merge($keys, $redis->scan($iterator, $pattern, 1000) ?: []);
    } while ($iterator > 0);
    return $keys;
}

function run_case(string $name, callable $case): void
{
    global $results;
    try {
        $case();
        $results[$name] = null;
    } catch (Throwable $e) {
        $results[$name] = get_class($e) . ': ' . $e->getMessage();
    }
}

run_case('connected', function () {
    global $wp_object_cache;
    check(wp_using_ext_object_cache(), 'WordPress does not use the external object cache');
    check($wp_object_cache instanceof WP_Object_Cache && $wp_object_cache->is_connected(), 'not connected to Redis');
});

run_case('types_round_trip_through_redis', function () use ($group) {
    $post = new WP_Post((object) ['ID' => 7, 'post_title' => 'T']);
    $values = ['false' => false, 'null' => null, 'zero' => 0, 'string_zero' => '0', 'empty' => '',
               'int' => 42, 'negative' => -5, 'float' => 1.5, 'true' => true, 'array' => ['a' => [1, '2', null]],
               'object' => (object) ['x' => 1], 'post' => $post, 'numeric_string' => '123', 'binary' => "a\0b"];
    foreach ($values as $key => $value) {
        check(wp_cache_set($key, $value, $group), "set $key");
    }
    wp_cache_flush_runtime(); // next reads come from Redis
    foreach ($values as $key => $value) {
        $got = wp_cache_get($key, $group, false, $found);
        check($found === true, "$key not found");
        check(is_object($value) ? $got == $value && get_class($got) === get_class($value) : $got === $value,
              "$key came back as " . var_export($got, true));
    }
});

run_case('objects_are_copies', function () use ($group) {
    $object = (object) ['v' => 1];
    wp_cache_set('obj', $object, $group);
    $object->v = 2;
    check(wp_cache_get('obj', $group)->v === 1, 'the cache kept a reference to the caller\'s object');
});

run_case('missing_key_is_not_found', function () use ($group) {
    $got = wp_cache_get('never-set', $group, false, $found);
    check($got === false && $found === false, 'a missing key was found');
});

run_case('add_only_when_absent', function () use ($group) {
    check(wp_cache_add('a', 1, $group), 'add of a new key failed');
    check(!wp_cache_add('a', 2, $group), 'add over an existing key succeeded');
    wp_cache_flush_runtime();
    check(!wp_cache_add('a', 3, $group), 'add over a key that exists in Redis succeeded');
    check(wp_cache_get('a', $group) === 1, 'add changed the value');
});

run_case('replace_only_when_present', function () use ($group) {
    check(!wp_cache_replace('r', 1, $group), 'replace of a missing key succeeded');
    wp_cache_set('r', 1, $group);
    check(wp_cache_replace('r', 2, $group), 'replace of an existing key failed');
    wp_cache_flush_runtime();
    check(wp_cache_get('r', $group) === 2, 'replace did not reach Redis');
});

run_case('incr_and_decr', function () use ($group) {
    check(wp_cache_incr('missing-counter', 1, $group) === false, 'incr of a missing key did not return false');
    wp_cache_set('n', 5, $group);
    check(wp_cache_incr('n', 3, $group) === 8, 'incr 5+3');
    check(wp_cache_decr('n', 2, $group) === 6, 'decr 8-2');
    check(wp_cache_decr('n', 100, $group) === 0, 'decr below zero is not floored at 0');
    wp_cache_set('s', 'text', $group);
    check(wp_cache_incr('s', 4, $group) === 4, 'incr of a non-numeric value does not start from 0');
    wp_cache_flush_runtime();
    check(wp_cache_get('n', $group) === 0 && wp_cache_get('s', $group) === 4, 'counters not stored in Redis');
});

run_case('groups_are_separate', function () use ($group) {
    wp_cache_set('same', 'one', $group . '-a');
    wp_cache_set('same', 'two', $group . '-b');
    wp_cache_flush_runtime();
    check(wp_cache_get('same', $group . '-a') === 'one' && wp_cache_get('same', $group . '-b') === 'two',
          'two groups share a key');
    wp_cache_set('d', 'default group');
    check(wp_cache_get('d', '') === 'default group' && wp_cache_get('d', 'default') === 'default group',
          "'' is not the default group");
    wp_cache_delete('d');
});

run_case('non_persistent_groups_stay_in_memory', function () use ($group) {
    $np = $group . '-np';
    wp_cache_add_non_persistent_groups([$np]);
    wp_cache_set('k', 'v', $np);
    check(wp_cache_get('k', $np) === 'v', 'non-persistent value lost within the request');
    check(redis_keys(redis_client(), "*:$np:*") === [], 'a non-persistent group reached Redis');
    wp_cache_flush_runtime();
    check(wp_cache_get('k', $np) === false, 'a non-persistent value outlived the request');
});

run_case('global_groups_and_switch_to_blog', function () use ($group) {
    global $wp_object_cache;
    // A single site cannot switch blogs; pretend to be a network for this case.
    $network = Closure::bind(function () { $this->multisite = true; }, $wp_object_cache, WP_Object_Cache::class);
    $network();
    $global = $group . '-global';
    wp_cache_add_global_groups([$global]);
    wp_cache_switch_to_blog(1);
    wp_cache_set('k', 'blog 1', $group);
    wp_cache_set('g', 'shared', $global);
    wp_cache_switch_to_blog(2);
    check(wp_cache_get('k', $group) === false, 'blog 2 sees blog 1\'s key');
    check(wp_cache_get('g', $global) === 'shared', 'a global group is not shared between blogs');
    wp_cache_set('k', 'blog 2', $group);
    wp_cache_switch_to_blog(1);
    check(wp_cache_get('k', $group) === 'blog 1', 'blog 2 overwrote blog 1\'s key');
    $keys = redis_keys(redis_client(), '*:' . $global . ':g');
    check(count($keys) === 1 && strpos($keys[0], ':global:') !== false, 'global key not stored under "global"');
});

run_case('keys_carry_the_site_prefix', function () use ($group) {
    wp_cache_set('prefixed', 1, $group);
    $keys = redis_keys(redis_client(), "*:$group:prefixed");
    $prefix = DB_NAME . ':' . $GLOBALS['table_prefix'] . ':1:';
    check($keys === [$prefix . "$group:prefixed"], 'key stored as ' . json_encode($keys));
});

run_case('multiple_operations', function () use ($group) {
    $g = $group . '-multi';
    check(wp_cache_set_multiple(['x' => 1, 'y' => [2], 'z' => false], $g) === ['x' => true, 'y' => true, 'z' => true],
          'set_multiple results');
    wp_cache_flush_runtime();
    $got = wp_cache_get_multiple(['z', 'x', 'missing', 'y'], $g);
    check($got === ['z' => false, 'x' => 1, 'missing' => false, 'y' => [2]], 'get_multiple: ' . json_encode($got));
    check(wp_cache_add_multiple(['x' => 9, 'w' => 4], $g) === ['x' => false, 'w' => true], 'add_multiple results');
    check(wp_cache_delete_multiple(['x', 'nope'], $g) === ['x' => true, 'nope' => false], 'delete_multiple results');
    wp_cache_flush_runtime();
    check(wp_cache_get('x', $g) === false && wp_cache_get('w', $g) === 4, 'delete/add_multiple not in Redis');
});

run_case('delete_removes_from_redis', function () use ($group) {
    wp_cache_set('del', 'v', $group);
    check(wp_cache_delete('del', $group), 'delete of an existing key returned false');
    check(!wp_cache_delete('del', $group), 'delete of a missing key returned true');
    wp_cache_flush_runtime();
    check(wp_cache_get('del', $group) === false, 'deleted key still in Redis');
});

run_case('flush_group_keeps_other_groups', function () use ($group) {
    wp_cache_set('k', 1, $group . '-gone');
    wp_cache_set('k', 2, $group . '-kept');
    check(wp_cache_supports('flush_group') && wp_cache_flush_group($group . '-gone'), 'flush_group failed');
    check(wp_cache_get('k', $group . '-gone') === false, 'flushed group still in memory');
    wp_cache_flush_runtime();
    check(wp_cache_get('k', $group . '-gone') === false, 'flushed group still in Redis');
    check(wp_cache_get('k', $group . '-kept') === 2, 'flush_group removed another group');
});

run_case('expiry', function () use ($group) {
    wp_cache_set('ttl', 'v', $group, 100);
    $redis = redis_client();
    $ttl = $redis->ttl(DB_NAME . ':' . $GLOBALS['table_prefix'] . ":1:$group:ttl");
    check($ttl > 90 && $ttl <= 100, "TTL in Redis is $ttl, expected about 100");
    wp_cache_set('short', 'v', $group, 1);
    $deadline = microtime(true) + 5;
    do {
        usleep(200000);
        wp_cache_flush_runtime();
        $gone = wp_cache_get('short', $group) === false;
    } while (!$gone && microtime(true) < $deadline);
    check($gone, 'a key set with a 1 s expiry was still there after 5 s');
    wp_cache_set('forever', 'v', $group);
    check($redis->ttl(DB_NAME . ':' . $GLOBALS['table_prefix'] . ":1:$group:forever") === -1, 'expire 0 set a TTL');
});

run_case('flush_empties_only_this_site', function () use ($group) {
    $redis = redis_client();
    $redis->set('another-site:wp_:1:default:k', 'kept');
    wp_cache_set('f', 1, $group);
    check(wp_cache_flush(), 'flush failed');
    check(wp_cache_get('f', $group) === false, 'flushed key still in memory');
    check(redis_keys($redis, DB_NAME . ':' . $GLOBALS['table_prefix'] . ':*') === [], 'the site\'s keys survived flush');
    check($redis->get('another-site:wp_:1:default:k') === 'kept', 'flush removed another site\'s key');
    $redis->del('another-site:wp_:1:default:k');
});

echo json_encode($results), "\n";
