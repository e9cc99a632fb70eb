#!/usr/bin/env bash
# How a GPU batch was packed for a device with no internet (the device tool of the development machine): the carried
# .whl/ holds wheels the device lacks (fastcore, platformdirs, mambapy, optuna and its dependencies), .gpu/data a copy
# of the datasets, .gpu/cache the text embeddings (no encoder there). Every job line is an ordinary fame-nb command.
# One GPU session: install carried wheels, prepare data, run the job list(s) with a deadline, pack results into $OUT.
# usage (repository root on the device): bash bench/gpu_batch.sh DEADLINE_SECONDS PARALLEL JOBFILE...
set -u
T0=$(date +%s)
DEADLINE=${1:-420}; PAR=${2:-12}; shift 2
REPO=$PWD
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl > $OUT/pip.log 2>&1 || { echo "pip failed"; cat $OUT/pip.log; }
export PYTHONPATH=/tmp/site:$REPO PYTHONUNBUFFERED=1
export FAME_NB_DATA=$REPO/.gpu/data FAME_NB_CACHE=$REPO/.gpu/cache HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false MPLBACKEND=Agg
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p /tmp/bin && printf '#!/bin/sh\nexec python3 -m fame_nb.cli "$@"\n' > /tmp/bin/fame-nb && chmod +x /tmp/bin/fame-nb && export PATH=/tmp/bin:$PATH
export RES=/tmp/res; mkdir -p $RES
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; python3 -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda)"; git -C $REPO rev-parse HEAD 2>/dev/null; nproc; } > $RES/env.txt 2>&1
cat $RES/env.txt
for d in beauty instruments ml-100k ml-100k-imdb ml-1m; do fame-nb data --dataset $d --quiet > $RES/data-$d.log 2>&1 || echo "data $d failed"; done
echo "setup done in $(( $(date +%s) - T0 )) s"
cat "$@" > $RES/jobs.txt
LEFT=$(( DEADLINE - ($(date +%s) - T0) ))
python3 bench/run_jobs.py $RES/jobs.txt --parallel $PAR --deadline $LEFT --logs $RES/logs 2>&1 | tail -80
# pack: everything but weights and checkpoints
cd /tmp && tar --exclude='*.safetensors' --exclude='checkpoint-*.pt' --exclude='*.db-journal' -czf $OUT/results.tgz res 2>/dev/null
ls -la $OUT; echo "total $(( $(date +%s) - T0 )) s"
