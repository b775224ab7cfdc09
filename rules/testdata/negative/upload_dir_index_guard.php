<?php
// Keeps web servers from listing upload folders: puts an empty index.php
// into every sub-folder of the uploads directory.
function guard_upload_dirs($base)
{
    $dirs = glob($base . '/*', GLOB_ONLYDIR);
    foreach ($dirs as $dir) {
        if (is_dir($dir) && !file_exists($dir . '/index.php')) {
            file_put_contents($dir . '/index.php', "<?php\n// Silence is golden.\n");
        }
        guard_upload_dirs($dir);
    }
}
guard_upload_dirs(__DIR__ . '/uploads');
