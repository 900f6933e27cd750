/*
 * backend_cuda_absent.c - what a build without CUDA says about CUDA: no
 * backend, no ES evaluator, no devices. Compiled instead of cuda/ when
 * DEVO_CUDA is off.
 */
#include "backend.h"
#include "es_eval.h"

const devo_backend_i *devo_backend_cuda(void) { return NULL; }

const devo_es_eval_i *devo_es_eval_cuda(void) { return NULL; }

int devo_cuda_device_count(void) { return 0; }
