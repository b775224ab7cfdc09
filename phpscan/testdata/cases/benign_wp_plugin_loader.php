<?php
// WordPress-style: a plugin page included from the plugins folder.
// want: clean
$plugin_page = plugin_basename(wp_unslash($_GET['page']));
include WP_PLUGIN_DIR . "/$plugin_page";
