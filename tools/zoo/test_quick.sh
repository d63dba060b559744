#!/bin/sh
# Quick build of the expert zoo (tiny sizes, a few steps, temp dir) + check_zoo.py on the result.
# Part of the project's tests so that the zoo builder cannot silently rot. Under 2 minutes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/build_zoo.py" --quick "$@"
