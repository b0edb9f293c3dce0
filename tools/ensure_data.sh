#!/usr/bin/env bash
# Make sure Fashion-MNIST is on this machine without downloading it at run time:
# if mlp_utils finds no local copy, install Debian's package dataset-fashion-mnist.
set -euo pipefail
PY="${1:-.venv/bin/python}"
if "$PY" -c "from mlp_utils.data import locate_raw_files; locate_raw_files(download=False)" 2>/dev/null; then
    exit 0
fi
echo "Fashion-MNIST not found locally: installing Debian's package dataset-fashion-mnist"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q dataset-fashion-mnist
"$PY" -c "from mlp_utils.data import locate_raw_files; print('Fashion-MNIST found in', locate_raw_files(download=False)['train_images'].parent)"
