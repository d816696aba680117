<?php
/**
 * Inception: what WordPress shows when it cannot reach its database (its own
 * page answers 500, which says "our bug", not "come back in a minute").
 * Inception-Drop-In: 1 (the entrypoint updates this file only while this line is here)
 */
error_log('wordpress: ERROR: cannot reach the database at ' . DB_HOST
          . '; check `invoke status` and `invoke logs --service mariadb`');
http_response_code(503);
header('Retry-After: 30');
header('Content-Type: text/html; charset=utf-8');
header('Cache-Control: no-store');
?>
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Temporarily unavailable</title></head>
<body>
<h1>Temporarily unavailable</h1>
<p>The site cannot reach its database right now. Please try again in a minute.</p>
</body>
</html>
