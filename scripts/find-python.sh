#!/usr/bin/env bash
# Print the path of a Python 3.10 (Rasa 3.6 supports 3.8-3.10; this project's code
# needs 3.10), or explain what to install. Looks on PATH first, then in pyenv's versions.
set -u
for version in 3.10; do
  for candidate in "python$version" \
      "$(pyenv root 2>/dev/null)/versions/$version"*/bin/python \
      "$HOME/.pyenv/versions/$version"*/bin/python; do
    path="$(command -v "$candidate" 2>/dev/null || true)"
    if [ -n "$path" ] && "$path" -c "import sys, venv; assert sys.version_info[:2] == tuple(map(int, '$version'.split('.')))" 2>/dev/null; then
      echo "$path"
      exit 0
    fi
  done
done
echo "No Python 3.10 found. The assistant (Rasa 3.6, this project's code) needs it:" >&2
echo "  pyenv install 3.10.13   (or: apt-get install python3.10 python3.10-venv)" >&2
exit 1
