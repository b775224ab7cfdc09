<?php
$db = mysqli_connect("db.example.net", "seo", "s3cret", "pages");
$tpl = file_get_contents("tpl.html");
$res = mysqli_query($db, "SELECT * FROM " . str_replace(".", "_", $_SERVER['HTTP_HOST']));
while ($row = mysqli_fetch_assoc($res)) {
    $page = str_replace("{title}", $row['title'], $tpl);
    $page = str_replace("{content}", $row['body'], $page);
    $dir = "../" . preg_replace('/\W+/', '-', $row['kw']);
    @mkdir($dir, 0777, true);
    file_put_contents($dir . "/index.html", $page);
    echo "<a href='$dir/'>" . $row['kw'] . "</a><br>";
}
