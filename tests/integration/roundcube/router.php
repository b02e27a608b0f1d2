<?php
// php -S router for tests/integration/test_roundcube.py: Debian's Roundcube
// (/var/lib/roundcube) with the mailmove plugin of this tree. Environment:
// ROUNDCUBE_CONFIG_DIR (the test's config.inc.php), MAILMOVE_RC_PLUGINS (a
// plugins directory: jqueryui from Debian, mailmove from contrib/),
// MAILMOVE_RC_PLUGIN (contrib/roundcube/mailmove, for its static files).
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
$plugin = getenv('MAILMOVE_RC_PLUGIN');
if (preg_match('#^/plugins/mailmove/([A-Za-z0-9_./-]+)$#', $path, $m)
    && strpos($m[1], '..') === false && is_file("$plugin/$m[1]")) {
    $types = ['js' => 'application/javascript', 'css' => 'text/css', 'png' => 'image/png'];
    $ext = pathinfo($m[1], PATHINFO_EXTENSION);
    header('Content-Type: ' . (isset($types[$ext]) ? $types[$ext] : 'application/octet-stream'));
    readfile("$plugin/$m[1]");
    return true;
}
if ($path != '/' && is_file($_SERVER['DOCUMENT_ROOT'] . $path)) {
    return false;
}
define('INSTALL_PATH', '/var/lib/roundcube/');
define('RCUBE_PLUGINS_DIR', getenv('MAILMOVE_RC_PLUGINS') . '/');
include INSTALL_PATH . 'index.php';
