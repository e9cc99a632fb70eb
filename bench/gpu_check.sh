#!/usr/bin/env bash
# SASRec and FAME epoch times and peak GPU memory on Beauty and ML-1M, float32 and bfloat16, and the 2-GPU
# DistributedDataParallel run when 2 GPUs are present (bench/gpu_check.py says what is measured). About 3 minutes on
# one H200. Needs no installed fame_nb: run it from anywhere, it puts the repository on PYTHONPATH.
#
#   FAME_NB_DATA=/path/to/data bash bench/gpu_check.sh          # data folder with amazon-beauty/ and ml-1m/
#   PYTHON=/opt/venv/bin/python bash bench/gpu_check.sh          # another interpreter (default: python3)
#   bash bench/gpu_check.sh --device cpu --tiny                  # try the script on a CPU machine (seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}" TOKENIZERS_PARALLELISM=false
if [ -z "${FAME_NB_DATA:-}" ] && [[ " $* " != *" --tiny "* ]]; then
  echo "gpu_check: set FAME_NB_DATA to the folder holding amazon-beauty/ and ml-1m/" >&2; exit 2
fi
exec "${PYTHON:-python3}" bench/gpu_check.py "$@"
