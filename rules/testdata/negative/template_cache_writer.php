<?php
// Renders article pages from a template and caches them as static files.
$tpl = file_get_contents(__DIR__ . '/templates/article.html');
$db = new mysqli('localhost', 'cms', getenv('CMS_DB_PASS'), 'cms');
$res = $db->query("SELECT slug, title, body FROM articles WHERE published = 1");
while ($row = $res->fetch_assoc()) {
    $html = str_replace('{title}', htmlspecialchars($row['title']), $tpl);
    $html = str_replace('{content}', $row['body'], $html);
    $fp = fopen(__DIR__ . '/cache/' . basename($row['slug']) . '.html', 'w');
    fwrite($fp, $html);
    fclose($fp);
}
