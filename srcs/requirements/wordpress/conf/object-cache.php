<?php
/**
 * Plugin Name: Inception Redis object cache
 * Description: WordPress's persistent object cache in Redis (php-redis), with a
 *   per-request memory cache in front. When Redis is down or refuses the
 *   password, pages are still served (from memory for the request) and one
 *   warning is logged; when Redis is back, the site's keys are flushed (they may
 *   be stale) and caching resumes, without a restart.
 * Inception-Drop-In: 1 (the entrypoint updates this file only while this line is here)
 *
 * Keys: "<prefix>:<blog id or 'global'>:<group>:<key>", the prefix being
 * WP_CACHE_KEY_SALT or "<DB_NAME>:<table prefix>", so several sites can share
 * one Redis. Integers are stored as decimal strings (so INCRBY-style updates
 * stay atomic), everything else with serialize(), which round-trips every PHP
 * type WordPress stores (false, null, arrays, objects).
 */

defined('ABSPATH') || exit;

function wp_cache_init()
{
    $GLOBALS['wp_object_cache'] = new WP_Object_Cache();
}

function wp_cache_add($key, $data, $group = '', $expire = 0)
{
    return $GLOBALS['wp_object_cache']->add($key, $data, $group, (int) $expire);
}

function wp_cache_add_multiple(array $data, $group = '', $expire = 0)
{
    return $GLOBALS['wp_object_cache']->add_multiple($data, $group, (int) $expire);
}

function wp_cache_replace($key, $data, $group = '', $expire = 0)
{
    return $GLOBALS['wp_object_cache']->replace($key, $data, $group, (int) $expire);
}

function wp_cache_set($key, $data, $group = '', $expire = 0)
{
    return $GLOBALS['wp_object_cache']->set($key, $data, $group, (int) $expire);
}

function wp_cache_set_multiple(array $data, $group = '', $expire = 0)
{
    return $GLOBALS['wp_object_cache']->set_multiple($data, $group, (int) $expire);
}

function wp_cache_get($key, $group = '', $force = false, &$found = null)
{
    return $GLOBALS['wp_object_cache']->get($key, $group, $force, $found);
}

function wp_cache_get_multiple($keys, $group = '', $force = false)
{
    return $GLOBALS['wp_object_cache']->get_multiple($keys, $group, $force);
}

function wp_cache_delete($key, $group = '')
{
    return $GLOBALS['wp_object_cache']->delete($key, $group);
}

function wp_cache_delete_multiple(array $keys, $group = '')
{
    return $GLOBALS['wp_object_cache']->delete_multiple($keys, $group);
}

function wp_cache_incr($key, $offset = 1, $group = '')
{
    return $GLOBALS['wp_object_cache']->incr($key, $offset, $group);
}

function wp_cache_decr($key, $offset = 1, $group = '')
{
    return $GLOBALS['wp_object_cache']->decr($key, $offset, $group);
}

function wp_cache_flush()
{
    return $GLOBALS['wp_object_cache']->flush();
}

function wp_cache_flush_runtime()
{
    return $GLOBALS['wp_object_cache']->flush_runtime();
}

function wp_cache_flush_group($group)
{
    return $GLOBALS['wp_object_cache']->flush_group($group);
}

function wp_cache_supports($feature)
{
    return in_array($feature, ['add_multiple', 'set_multiple', 'get_multiple', 'delete_multiple',
                               'flush_runtime', 'flush_group'], true);
}

function wp_cache_close()
{
    return true;
}

function wp_cache_add_global_groups($groups)
{
    $GLOBALS['wp_object_cache']->add_global_groups($groups);
}

function wp_cache_add_non_persistent_groups($groups)
{
    $GLOBALS['wp_object_cache']->add_non_persistent_groups($groups);
}

function wp_cache_switch_to_blog($blog_id)
{
    $GLOBALS['wp_object_cache']->switch_to_blog($blog_id);
}

function wp_cache_reset()
{
    _deprecated_function(__FUNCTION__, '3.5.0', 'wp_cache_switch_to_blog()');
    return false;
}

class WP_Object_Cache
{
    /** Atomic increment of an integer value, floored at 0 (WordPress's rule); nil if absent. */
    private const ADJUST = <<<'LUA'
local value = redis.call('GET', KEYS[1])
if not value then return false end
if not string.match(value, '^%-?%d+$') then value = 0 end
local result = tonumber(value) + tonumber(ARGV[1])
if result < 0 then result = 0 end
redis.call('SET', KEYS[1], result, 'KEEPTTL')
return result
LUA;

    public $cache_hits = 0;
    public $cache_misses = 0;
    public $redis_calls = 0;

    /** @var array<string, mixed> this request's copy, by full key */
    private $cache = [];
    private $global_groups = [];
    private $non_persistent_groups = [];
    private $blog_id;
    private $multisite;
    private $prefix;
    /** @var Redis|null null when Redis is unavailable for this request */
    private $redis = null;
    private $host;

    public function __construct()
    {
        $this->multisite = is_multisite();
        $this->blog_id = $this->multisite ? get_current_blog_id() : 1;
        $this->prefix = defined('WP_CACHE_KEY_SALT') && WP_CACHE_KEY_SALT
            ? WP_CACHE_KEY_SALT
            : DB_NAME . ':' . $GLOBALS['table_prefix'];
        $this->host = getenv('WP_REDIS_HOST') ?: 'redis';
        $this->connect();
    }

    public function add($key, $data, $group = 'default', $expire = 0)
    {
        if (wp_suspend_cache_addition()) {
            return false;
        }
        $id = $this->id($key, $group);
        if ($id === null || array_key_exists($id, $this->cache)) {
            return false;
        }
        if ($this->persistent($group)) {
            $options = $expire > 0 ? ['nx', 'ex' => $expire] : ['nx'];
            $stored = $this->call(fn($redis) => $redis->set($id, $this->encode($data), $options));
            if ($stored === false) {
                return false; // exists in Redis
            }
        }
        $this->cache[$id] = $this->copy($data);
        return true;
    }

    public function add_multiple(array $data, $group = '', $expire = 0)
    {
        $results = [];
        foreach ($data as $key => $value) {
            $results[$key] = $this->add($key, $value, $group, $expire);
        }
        return $results;
    }

    public function replace($key, $data, $group = 'default', $expire = 0)
    {
        $id = $this->id($key, $group);
        if ($id === null) {
            return false;
        }
        if ($this->persistent($group) && $this->redis) {
            $options = $expire > 0 ? ['xx', 'ex' => $expire] : ['xx'];
            $stored = $this->call(fn($redis) => $redis->set($id, $this->encode($data), $options));
            if ($stored === false) {
                return false; // absent from Redis
            }
            if ($stored !== null) {
                $this->cache[$id] = $this->copy($data);
                return true;
            }
        }
        if (!array_key_exists($id, $this->cache)) {
            return false;
        }
        $this->cache[$id] = $this->copy($data);
        return true;
    }

    public function set($key, $data, $group = 'default', $expire = 0)
    {
        $id = $this->id($key, $group);
        if ($id === null) {
            return false;
        }
        $this->cache[$id] = $this->copy($data);
        if ($this->persistent($group)) {
            $value = $this->encode($data);
            $this->call(fn($redis) => $expire > 0 ? $redis->setex($id, $expire, $value) : $redis->set($id, $value));
        }
        return true;
    }

    public function set_multiple(array $data, $group = '', $expire = 0)
    {
        $results = [];
        $writes = [];
        foreach ($data as $key => $value) {
            $id = $this->id($key, $group);
            $results[$key] = $id !== null;
            if ($id === null) {
                continue;
            }
            $this->cache[$id] = $this->copy($value);
            $writes[$id] = $this->encode($value);
        }
        if ($writes && $this->persistent($group)) {
            $this->call(function ($redis) use ($writes, $expire) {
                $pipe = $redis->multi(Redis::PIPELINE);
                foreach ($writes as $id => $value) {
                    $expire > 0 ? $pipe->setex($id, $expire, $value) : $pipe->set($id, $value);
                }
                return $pipe->exec();
            });
        }
        return $results;
    }

    public function get($key, $group = 'default', $force = false, &$found = null)
    {
        $id = $this->id($key, $group);
        if ($id === null) {
            $found = false;
            return false;
        }
        if (!$force && array_key_exists($id, $this->cache)) {
            $found = true;
            $this->cache_hits++;
            return $this->copy($this->cache[$id]);
        }
        if ($this->persistent($group)) {
            $raw = $this->call(fn($redis) => $redis->get($id));
            if (is_string($raw)) {
                $value = $this->decode($raw);
                $this->cache[$id] = $value;
                $found = true;
                $this->cache_hits++;
                return $this->copy($value);
            }
        } elseif ($force && array_key_exists($id, $this->cache)) {
            $found = true;
            $this->cache_hits++;
            return $this->copy($this->cache[$id]);
        }
        $found = false;
        $this->cache_misses++;
        return false;
    }

    public function get_multiple($keys, $group = 'default', $force = false)
    {
        $values = [];
        $missing = [];
        foreach ($keys as $key) {
            $id = $this->id($key, $group);
            if ($id !== null && !$force && array_key_exists($id, $this->cache)) {
                $values[$key] = $this->copy($this->cache[$id]);
                $this->cache_hits++;
            } elseif ($id !== null && $this->persistent($group)) {
                $missing[$id] = $key;
            } else {
                $values[$key] = $this->get($key, $group, $force);
            }
        }
        if ($missing) {
            $raws = $this->call(fn($redis) => $redis->mget(array_keys($missing)));
            $i = 0;
            foreach ($missing as $id => $key) {
                $raw = is_array($raws) ? $raws[$i++] : false;
                if (is_string($raw)) {
                    $this->cache[$id] = $this->decode($raw);
                    $values[$key] = $this->copy($this->cache[$id]);
                    $this->cache_hits++;
                } else {
                    $values[$key] = false;
                    $this->cache_misses++;
                }
            }
        }
        // In the order asked for, as WordPress's own cache returns them.
        $ordered = [];
        foreach ($keys as $key) {
            $ordered[$key] = $values[$key] ?? false;
        }
        return $ordered;
    }

    public function delete($key, $group = 'default', $deprecated = false)
    {
        $id = $this->id($key, $group);
        if ($id === null) {
            return false;
        }
        $existed = array_key_exists($id, $this->cache);
        unset($this->cache[$id]);
        if ($this->persistent($group)) {
            $deleted = $this->call(fn($redis) => $redis->del($id));
            $existed = $existed || $deleted > 0;
        }
        return $existed;
    }

    public function delete_multiple(array $keys, $group = '')
    {
        $results = [];
        foreach ($keys as $key) {
            $results[$key] = $this->delete($key, $group);
        }
        return $results;
    }

    public function incr($key, $offset = 1, $group = 'default')
    {
        return $this->adjust($key, (int) $offset, $group);
    }

    public function decr($key, $offset = 1, $group = 'default')
    {
        return $this->adjust($key, -(int) $offset, $group);
    }

    public function flush()
    {
        $this->cache = [];
        $this->delete_matching($this->glob_escape($this->prefix) . ':*');
        return true;
    }

    public function flush_runtime()
    {
        $this->cache = [];
        return true;
    }

    public function flush_group($group)
    {
        $group = $this->group_name($group);
        $infix = ':' . $group . ':';
        foreach (array_keys($this->cache) as $id) {
            $rest = substr($id, strlen($this->prefix) + 1);
            if (strpos($rest, $infix) === strpos($rest, ':')) {
                unset($this->cache[$id]);
            }
        }
        $this->delete_matching($this->glob_escape($this->prefix) . ':*' . $this->glob_escape($infix) . '*');
        return true;
    }

    public function add_global_groups($groups)
    {
        foreach ((array) $groups as $group) {
            $this->global_groups[$group] = true;
        }
    }

    public function add_non_persistent_groups($groups)
    {
        foreach ((array) $groups as $group) {
            $this->non_persistent_groups[$group] = true;
        }
    }

    public function switch_to_blog($blog_id)
    {
        $this->blog_id = $this->multisite ? (int) $blog_id : 1;
    }

    public function is_connected(): bool
    {
        return $this->redis !== null;
    }

    public function stats()
    {
        printf("<p><strong>Redis:</strong> %s<br><strong>Hits:</strong> %d<br><strong>Misses:</strong> %d<br>"
               . "<strong>Redis calls:</strong> %d</p>", $this->redis ? 'connected' : 'unavailable',
               $this->cache_hits, $this->cache_misses, $this->redis_calls);
    }

    private function adjust($key, int $offset, $group)
    {
        $id = $this->id($key, $group);
        if ($id === null) {
            return false;
        }
        if ($this->persistent($group)) {
            $value = $this->call(fn($redis) => $redis->eval(self::ADJUST, [$id, $offset], 1));
            if (is_int($value)) {
                $this->cache[$id] = $value;
                return $value;
            }
        }
        if (!array_key_exists($id, $this->cache)) {
            return false;
        }
        $current = is_numeric($this->cache[$id]) ? (int) $this->cache[$id] : 0;
        $this->cache[$id] = max(0, $current + $offset);
        if ($this->persistent($group)) {
            $this->call(fn($redis) => $redis->set($id, (string) $this->cache[$id]));
        }
        return $this->cache[$id];
    }

    private function group_name($group): string
    {
        return ($group === '' || $group === null) ? 'default' : (string) $group;
    }

    /** The full key, or null for a key WordPress itself would refuse. */
    private function id($key, $group): ?string
    {
        if (is_int($key)) {
            $key = (string) $key;
        }
        if (!is_string($key) || trim($key) === '') {
            return null;
        }
        $group = $this->group_name($group);
        $scope = isset($this->global_groups[$group]) ? 'global' : (string) $this->blog_id;
        return "{$this->prefix}:{$scope}:{$group}:{$key}";
    }

    private function persistent($group): bool
    {
        return !isset($this->non_persistent_groups[$this->group_name($group)]);
    }

    private function copy($value)
    {
        return is_object($value) ? clone $value : $value;
    }

    private function encode($value): string
    {
        return is_int($value) ? (string) $value : serialize($value);
    }

    private function decode(string $raw)
    {
        if (preg_match('/^-?\d+$/D', $raw)) {
            return (int) $raw;
        }
        return unserialize($raw);
    }

    private function glob_escape(string $text): string
    {
        return addcslashes($text, '*?[]\\');
    }

    private function delete_matching(string $pattern): void
    {
        $this->call(function ($redis) use ($pattern) {
            $iterator = null;
            do {
                $keys = $redis->scan($iterator, $pattern, 1000);
                if ($keys) {
                    $redis->unlink($keys);
                }
            } while ($iterator > 0);
            return true;
        });
    }

    /** Runs one Redis operation; null when Redis is (or just became) unavailable. */
    private function call(callable $operation)
    {
        if ($this->redis === null) {
            return null;
        }
        try {
            $this->redis_calls++;
            return $operation($this->redis);
        } catch (RedisException $e) {
            $this->redis = null;
            $this->outage($e->getMessage());
            return null;
        }
    }

    private function connect(): void
    {
        if (!class_exists('Redis')) {
            $this->outage('the php-redis extension is not loaded');
            return;
        }
        $file = (getenv('WORDPRESS_SECRETS_DIR') ?: '/run/secrets') . '/redis_password';
        $password = is_readable($file) ? trim((string) file_get_contents($file)) : '';
        $port = (int) (getenv('WP_REDIS_PORT') ?: 6379);
        // Redis's own user for WordPress, limited to the commands used here;
        // `default` (what AUTH with a password alone means) is off.
        $user = getenv('WP_REDIS_USER') ?: 'wordpress';
        // A persistent connection per PHP-FPM worker saves the connect and
        // AUTH round trips; if it went stale (Redis restarted), one fresh try.
        foreach ([true, false] as $persistent) {
            try {
                $redis = new Redis();
                $connected = $persistent
                    ? @$redis->pconnect($this->host, $port, 0.5, 'wp-object-cache', 0, 0.5)
                    : @$redis->connect($this->host, $port, 0.5, null, 0, 0.5);
                if (!$connected) {
                    throw new RedisException("cannot connect to {$this->host}:{$port}");
                }
                if ($password !== '' && !$redis->auth([$user, $password])) {
                    throw new RedisException('the password was refused');
                }
                $redis->ping();
                $this->redis = $redis;
                $this->recovered();
                return;
            } catch (RedisException $e) {
                $reason = $e->getMessage();
                if (isset($redis) && $persistent) {
                    try {
                        $redis->close();
                    } catch (RedisException $ignored) {
                    }
                }
            }
        }
        $this->outage($reason);
    }

    /** One warning per outage: a marker file shared by the workers. */
    private function outage(string $reason): void
    {
        $marker = sys_get_temp_dir() . '/inception-object-cache-down';
        if (!file_exists($marker)) {
            @touch($marker);
            error_log("object-cache: WARNING: Redis at {$this->host} is unavailable ($reason); pages are served "
                      . 'without the persistent cache until it is back. Check `invoke logs --service redis`.');
        }
    }

    /** After an outage, keys written before it may be stale: drop them. */
    private function recovered(): void
    {
        $marker = sys_get_temp_dir() . '/inception-object-cache-down';
        if (file_exists($marker) && @unlink($marker)) {
            $this->delete_matching($this->glob_escape($this->prefix) . ':*');
            error_log('object-cache: Redis is reachable again; the site\'s cached keys were flushed and caching resumed');
        }
    }
}
