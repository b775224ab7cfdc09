<?php
// A newsletter script mails a fixed message to the site's subscribers.
// want: clean
foreach (file('/var/lib/app/subscribers.txt') as $to) {
    mail(trim($to), 'News', file_get_contents('/var/lib/app/news.txt'));
}
