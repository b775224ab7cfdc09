<?php
// Fetches a feed from a fixed URL and prints it: no page identity sent.
// want: clean
echo file_get_contents('https://feeds.example.org/news.xml');
