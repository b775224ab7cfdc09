#!/usr/bin/env python3
# Generates a PHP data file from a table; fetches the source table first.
import urllib.request, os
data = urllib.request.urlopen("https://data.example.org/table.txt").read().decode().split()
php = '''<?php
/**
 * Generated file, do not edit.
 */
return [
'''
php += ",\n".join("'%s'" % w for w in data) + "\n];\n"
open("table.php", "w").write(php)
os.system("php -l table.php")
