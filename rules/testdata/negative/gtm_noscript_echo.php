<?php
function print_tag_manager_noscript($id)
{
    echo '<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=' . htmlspecialchars($id) . '" height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>';
}
print_tag_manager_noscript('GTM-ABC123');
